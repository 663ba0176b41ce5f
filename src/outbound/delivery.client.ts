import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { isIP, Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import { AppConfig } from '../config/app-config';
import { BlockedDestinationError, guardedLookup, isPublicAddress } from './address-guard';

export interface DeliveryRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface DeliveryResponse {
  statusCode: number;
  retryAfter?: string;
  /** The subscriber's answer, first 2 KB. */
  bodyPrefix: string;
}

const KEPT_BODY_BYTES = 2048;
/** Past this, the rest of an answer is not worth reading: the connection is dropped instead. */
const DRAINED_BODY_BYTES = 64 * 1024;
const MAX_POOLS = 1000;

/**
 * POSTs deliveries over one keep-alive undici Pool per origin. Redirects are never followed. Unless
 * OUTBOUND_ALLOW_PRIVATE_NETWORKS, every connection is checked at connect time: IP literals before
 * dialling, names through a guarded DNS lookup, and the socket's peer address once connected.
 */
@Injectable()
export class DeliveryClient implements OnApplicationShutdown {
  private readonly pools = new Map<string, Pool>();
  private readonly connect: buildConnector.connector;

  constructor(private readonly config: AppConfig) {
    const timeout = Math.min(10_000, config.outbound.timeoutMs);
    const allowPrivate = config.outbound.allowPrivateNetworks;
    const base = buildConnector(
      allowPrivate ? { timeout } : ({ timeout, lookup: guardedLookup } as buildConnector.BuildOptions),
    );
    this.connect = allowPrivate
      ? base
      : (options, callback) => {
          const host = options.hostname.replace(/^\[(.*)\]$/, '$1');
          if (isIP(host) && !isPublicAddress(host)) return callback(new BlockedDestinationError(), null);
          base(options, (error, socket) => {
            if (error || !socket) return callback(error, null);
            const peer = (socket as Socket).remoteAddress;
            if (peer && !isPublicAddress(peer)) {
              socket.destroy();
              return callback(new BlockedDestinationError(), null);
            }
            callback(null, socket);
          });
        };
  }

  async post(request: DeliveryRequest): Promise<DeliveryResponse> {
    const url = new URL(request.url);
    const response = await this.pool(url.origin).request({
      method: 'POST',
      path: `${url.pathname}${url.search}`,
      headers: request.headers,
      body: request.body,
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.timeoutMs,
      signal: AbortSignal.timeout(request.timeoutMs),
    });
    const retryAfter = response.headers['retry-after'];
    return {
      statusCode: response.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      bodyPrefix: await readPrefix(response.body),
    };
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (pool) {
      // Most recently used last, so the first entry is the one to evict.
      this.pools.delete(origin);
      this.pools.set(origin, pool);
      return pool;
    }
    if (this.pools.size >= MAX_POOLS) {
      const [oldest, evicted] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldest);
      void evicted.close().catch(() => undefined);
    }
    pool = new Pool(origin, {
      // As many as this process can have in flight: endpoints of one origin share the pool.
      connections: this.config.outbound.workerConcurrency,
      connect: this.connect,
      keepAliveTimeout: 30_000,
    });
    this.pools.set(origin, pool);
    return pool;
  }

  /** After the workers drained (beforeApplicationShutdown): deliveries in flight still need it. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.destroy().catch(() => undefined)));
    this.pools.clear();
  }
}

async function readPrefix(body: AsyncIterable<Buffer> & { destroy(): unknown }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let seen = 0;
  for await (const chunk of body) {
    seen += chunk.length;
    if (keptBytes < KEPT_BODY_BYTES) {
      const part = chunk.subarray(0, KEPT_BODY_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    if (seen > DRAINED_BODY_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(kept).toString('utf8');
}
