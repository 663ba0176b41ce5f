import { Controller, ForbiddenException, Get, Header, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../../platform/config/app-config';
import { ChannelProvider } from '../../providers/channel-provider';
import { ChannelProviders } from '../../providers/channel-providers';

const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

/** The handshake. The POST is a plain Fastify route (WebhookRoute): the hot path skips Nest's pipeline. */
@ApiExcludeController()
@Controller('webhooks')
export class WebhooksController {
  constructor(
    private readonly config: AppConfig,
    private readonly providers: ChannelProviders,
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

  private provider(name: string): ChannelProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new NotFoundException(`unknown provider "${name}"`);
    return provider;
  }
}
