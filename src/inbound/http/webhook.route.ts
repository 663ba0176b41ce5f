import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import { adoptCallerRequestId } from '../../platform/http/correlation-id';
import { sendErrorBody } from '../../platform/http/error-body.filter';
import { ChannelProviders } from '../../providers/channel-providers';
import { StoreUnavailableError, WebhookIngestService } from '../ingest/webhook-ingest.service';

/**
 * `POST /webhooks/:provider` as a plain Fastify route. It is the hot path (Meta batches, retries and
 * bursts), and Nest's router pipeline costs the API about as much CPU as verifying, storing and
 * enqueueing together. Answers and error bodies are the contract's; its request line is logRequests()'.
 */
@Injectable()
export class WebhookRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly ingest: WebhookIngestService,
    private readonly providers: ChannelProviders,
    private readonly logger: PinoLogger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    fastify.route<{ Params: { provider: string } }>({
      method: 'POST',
      url: '/webhooks/:provider',
      handler: (request, reply) => this.receive(request, reply),
      // Body too large, unreadable body: the shared error shape, like every other route.
      errorHandler: (error: FastifyError, request, reply) =>
        this.answerError(request, reply, error.statusCode && error.statusCode < 500 ? error.statusCode : 500, error),
    });
  }

  private async receive(
    request: FastifyRequest<{ Params: { provider: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const provider = this.providers.get(request.params.provider);
    if (!provider) return this.answerError(request, reply, 404, `unknown provider "${request.params.provider}"`);
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const signature = request.headers['x-hub-signature-256'];
    const verdict = this.ingest.verify(rawBody, typeof signature === 'string' ? signature : undefined);
    // Only a request signed by Meta may name its correlation id.
    if (verdict === 'valid') adoptCallerRequestId(request);
    try {
      const result = await this.ingest.receive(
        provider,
        rawBody,
        verdict,
        String(request.id),
        verdict === 'valid' ? () => hungUp(reply) : undefined,
      );
      if (result.outcome === 'rejected') return this.answerError(request, reply, 401, `${result.verdict} signature`);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        return this.answerError(request, reply, 503, 'event store unavailable; retry later');
      }
      return this.answerError(request, reply, 500, error);
    }
    return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send('EVENT_RECEIVED');
  }

  /** `cause`: the message to send, or an error (its message is sent for a 4xx, only its name logged for a 5xx). */
  private answerError(request: FastifyRequest, reply: FastifyReply, status: number, cause: unknown): FastifyReply {
    const correlationId = String(request.id);
    let message = typeof cause === 'string' ? cause : 'internal error';
    if (typeof cause !== 'string') {
      // A driver's message can quote input: for a 5xx only the error's name is logged, and nothing is sent.
      if (status >= 500) this.logger.error({ msg: 'unhandled error', correlationId, error: (cause as Error)?.name });
      else message = (cause as Error)?.message ?? '';
    }
    return sendErrorBody(reply, status, message, correlationId);
  }
}

/**
 * The client has gone before its answer was sent (the response is destroyed when its socket closes): its
 * receipt need not wait any more. Asked, not listened for: a listener and an AbortSignal per request cost
 * the hot path more than the rest of its bookkeeping together (bench/JOURNAL.md).
 */
function hungUp(reply: FastifyReply): boolean {
  return reply.raw.destroyed && !reply.raw.writableFinished;
}
