import { Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { Pool } from 'undici';
import { ClassifiedFailure } from '../common/failure';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { OutgoingText, ReplyClient, SendResult } from '../processing/reply-client';
import {
  classifyGraphResponse,
  classifyTransportError,
  GraphError,
  parseRetryAfter,
} from '../processing/failure-classifier';

/** The Instagram Send API (`POST {graph}/me/messages`) over a keep-alive undici Pool. */
@Injectable()
export class InstagramClient implements ReplyClient, OnModuleDestroy {
  readonly provider = 'instagram';
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    const url = new URL(`${config.instagram.graphUrl}/me/messages`);
    this.path = url.pathname;
    this.pool = new Pool(url.origin, {
      connections: Math.max(8, config.workers.concurrency),
      connectTimeout: Math.min(5000, config.instagram.timeoutMs),
      headersTimeout: config.instagram.timeoutMs,
      bodyTimeout: config.instagram.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  async sendText({ recipientId, text }: OutgoingText): Promise<SendResult> {
    const token = this.config.instagram.accessToken;
    if (!token) throw new ClassifiedFailure({ category: 'auth', summary: 'INSTAGRAM_ACCESS_TOKEN is not configured' });

    let response;
    const started = performance.now();
    try {
      response = await this.pool.request({
        method: 'POST',
        path: this.path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ recipient: { id: recipientId }, message: { text } }),
      });
    } catch (error) {
      this.metrics?.sendApiDuration.observe({ status: 'error' }, (performance.now() - started) / 1000);
      throw classifyTransportError(error);
    }

    let body: { message_id?: unknown; error?: GraphError } | undefined;
    try {
      body = (await response.body.json()) as typeof body;
    } catch {
      body = undefined;
    }
    this.metrics?.sendApiDuration.observe(
      { status: String(response.statusCode) },
      (performance.now() - started) / 1000,
    );
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return {
        providerMessageId: typeof body?.message_id === 'string' ? body.message_id : null,
        httpStatus: response.statusCode,
      };
    }
    throw classifyGraphResponse(response.statusCode, body?.error, parseRetryAfter(response.headers['retry-after']));
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.pool.closed && !this.pool.destroyed) await this.pool.close();
  }
}
