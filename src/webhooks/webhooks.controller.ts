import {
  Controller,
  ForbiddenException,
  Get,
  Header,
  HttpCode,
  Headers,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { INBOUND_PROVIDERS, InboundProvider } from './inbound-providers';
import { StoreUnavailableError, WebhookIngestService } from './webhook-ingest.service';

const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

@ApiExcludeController()
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly config: AppConfig,
    private readonly ingest: WebhookIngestService,
  ) {}

  /** Meta's subscription handshake: echo the challenge when the verify token matches. */
  @Get(':provider')
  @Header('content-type', 'text/plain; charset=utf-8')
  handshake(
    @Param('provider') providerName: string,
    @Query('hub.mode') mode?: string,
    @Query('hub.verify_token') token?: string,
    @Query('hub.challenge') challenge?: string,
  ): string {
    this.provider(providerName);
    if (
      mode !== 'subscribe' ||
      typeof token !== 'string' ||
      typeof challenge !== 'string' ||
      !sameSecret(token, this.config.metaVerifyToken)
    ) {
      throw new ForbiddenException('verification failed');
    }
    return challenge;
  }

  @Post(':provider')
  @HttpCode(200)
  @Header('content-type', 'text/plain; charset=utf-8')
  async receive(
    @Param('provider') providerName: string,
    @Req() request: FastifyRequest,
    @Headers('x-hub-signature-256') signature?: string,
  ): Promise<string> {
    const provider = this.provider(providerName);
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    try {
      const result = await this.ingest.receive(provider, rawBody, signature, String(request.id));
      if (result.outcome === 'rejected') throw new UnauthorizedException(`${result.verdict} signature`);
      return 'EVENT_RECEIVED';
    } catch (error) {
      if (error instanceof StoreUnavailableError)
        throw new ServiceUnavailableException('event store unavailable; retry later');
      throw error;
    }
  }

  private provider(name: string): InboundProvider {
    const provider = INBOUND_PROVIDERS.get(name);
    if (!provider) throw new NotFoundException(`unknown provider "${name}"`);
    return provider;
  }
}
