import { Controller, Get, Headers, Logger, Res, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { FastifyReply } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';

const digest = (value: string) => createHash('sha256').update(value).digest();

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  private readonly tokenDigest?: Buffer;

  constructor(
    private readonly metrics: MetricsService,
    config: AppConfig,
  ) {
    this.tokenDigest = config.metricsToken ? digest(config.metricsToken) : undefined;
    if (!this.tokenDigest && config.metricsPublic) {
      new Logger(MetricsController.name).warn(
        'GET /metrics is open to anyone, on purpose (METRICS_PUBLIC=true, no METRICS_TOKEN)',
      );
    }
  }

  /**
   * Prometheus text format, behind `Authorization: Bearer <METRICS_TOKEN>`. Without the token (development,
   * or production with METRICS_PUBLIC=true: boot refuses otherwise) it is open.
   */
  @Get()
  @ApiBearerAuth()
  @ApiOkResponse({ description: 'Prometheus exposition format', content: { 'text/plain': {} } })
  @ApiUnauthorizedResponse({ description: 'METRICS_TOKEN is set and the bearer token does not match' })
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    if (this.tokenDigest) {
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
      if (!presented || !timingSafeEqual(digest(presented), this.tokenDigest)) {
        throw new UnauthorizedException('a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)');
      }
    }
    const { contentType, body } = await this.metrics.render();
    await reply.header('content-type', contentType).send(body);
  }
}
