import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'undici';
import { AppConfig } from '../../platform/config/app-config';
import { ClassifiedFailure } from '../../platform/failure';
import { parseRetryAfter } from '../../platform/http/retry-after';
import { classifyGraphResponse, classifyTransportError, GraphError } from '../meta/failure-classifier';

export interface RefreshedToken {
  accessToken: string;
  /** Seconds until the new token expires, as Meta says (about 60 days); null when it does not say. */
  expiresInSeconds: number | null;
}

interface RefreshAnswer {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  error?: GraphError;
}

/**
 * Instagram's long-lived token refresh: `GET {origin of INSTAGRAM_GRAPH_URL}/refresh_access_token?
 * grant_type=ig_refresh_token&access_token=T`. The token travels in the query string, as Meta wants it, so
 * no failure says anything about the request beyond its status and Graph error code.
 */
@Injectable()
export class InstagramTokenClient implements OnApplicationShutdown {
  private readonly pool: Pool;

  constructor(config: AppConfig) {
    const timeoutMs = config.instagram.timeoutMs;
    this.pool = new Pool(new URL(config.instagram.graphUrl).origin, {
      connections: 2,
      connectTimeout: Math.min(5000, timeoutMs),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
  }

  /** A new token for `token`; a refusal or an unreadable answer is thrown as a ClassifiedFailure. */
  async refresh(token: string): Promise<RefreshedToken> {
    const query = new URLSearchParams({ grant_type: 'ig_refresh_token', access_token: token });
    let response;
    try {
      response = await this.pool.request({ method: 'GET', path: `/refresh_access_token?${query.toString()}` });
    } catch (error) {
      throw classifyTransportError(error);
    }
    let answer: RefreshAnswer | undefined;
    try {
      answer = (await response.body.json()) as RefreshAnswer;
    } catch {
      answer = undefined;
    }
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw classifyGraphResponse(response.statusCode, answer?.error, parseRetryAfter(response.headers['retry-after']));
    }
    if (typeof answer?.access_token !== 'string' || answer.access_token.length === 0) {
      throw new ClassifiedFailure({ category: 'malformed', summary: 'the token refresh answer holds no token' });
    }
    const expiresIn = Number(answer.expires_in);
    return {
      accessToken: answer.access_token,
      expiresInSeconds: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : null,
    };
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.pool.closed && !this.pool.destroyed) await this.pool.close();
  }
}
