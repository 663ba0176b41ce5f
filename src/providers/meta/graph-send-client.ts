import { OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'undici';
import { ClassifiedFailure } from '../../platform/failure';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { parseRetryAfter } from '../../platform/http/retry-after';
import { classifyGraphResponse, classifyTransportError, GraphError } from './failure-classifier';
import { OutgoingText, SendResult } from '../channel-provider';

export interface GraphSendSettings {
  /** Base URL with the API version, e.g. `https://graph.facebook.com/v23.0`. */
  graphUrl: string;
  timeoutMs: number;
  connections: number;
}

export interface GraphPost {
  /** Path under the base URL, e.g. `/me/messages`. */
  path: string;
  token: string | undefined;
  /** The variable that holds the token, named in the failure when it is missing. */
  tokenVariable: string;
  body: unknown;
}

/**
 * What every Meta Send API client shares: a keep-alive undici Pool to the Graph host, one JSON POST,
 * and the same failure classification. A provider's client only says where and what to post.
 */
export abstract class GraphSendClient implements OnApplicationShutdown {
  abstract readonly provider: string;
  private readonly pool: Pool;
  private readonly basePath: string;

  protected constructor(
    settings: GraphSendSettings,
    private readonly metrics?: MetricsService,
  ) {
    const base = new URL(settings.graphUrl);
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.pool = new Pool(base.origin, {
      connections: settings.connections,
      connectTimeout: Math.min(5000, settings.timeoutMs),
      headersTimeout: settings.timeoutMs,
      bodyTimeout: settings.timeoutMs,
      keepAliveTimeout: 30_000,
    });
  }

  abstract sendText(message: OutgoingText): Promise<SendResult>;

  /** POSTs JSON; resolves to the 2xx answer's body, throws a ClassifiedFailure for anything else. */
  protected async post<T>({ path, token, tokenVariable, body }: GraphPost): Promise<{ status: number; body?: T }> {
    if (!token) throw new ClassifiedFailure({ category: 'auth', summary: `${tokenVariable} is not configured` });

    let response;
    const started = performance.now();
    try {
      response = await this.pool.request({
        method: 'POST',
        path: `${this.basePath}${path}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      this.observe('error', started);
      throw classifyTransportError(error);
    }

    let answer: (T & { error?: GraphError }) | undefined;
    try {
      answer = (await response.body.json()) as typeof answer;
    } catch {
      answer = undefined;
    }
    this.observe(String(response.statusCode), started);
    if (response.statusCode >= 200 && response.statusCode < 300) return { status: response.statusCode, body: answer };
    throw classifyGraphResponse(response.statusCode, answer?.error, parseRetryAfter(response.headers['retry-after']));
  }

  private observe(status: string, started: number): void {
    this.metrics?.sendApiDuration.observe({ provider: this.provider, status }, (performance.now() - started) / 1000);
  }

  /** After the workers have drained (beforeApplicationShutdown): a job active at SIGTERM still sends its reply. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.closed && !this.pool.destroyed) await this.pool.close();
  }
}
