import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { isIP, Socket } from 'node:net';
import { buildConnector, Dispatcher, Pool } from 'undici';
import { AppConfig } from '../../platform/config/app-config';
import { BlockedDestinationError, guardedLookup, isPublicAddress } from './address-guard';

export interface DeliveryRequest {
  url: string;
  /** A name/value map, or undici's flat list of names and values. */
  headers: Record<string, string> | string[];
  body: string;
  timeoutMs: number;
}

export interface DeliveryResponse {
  statusCode: number;
  retryAfter?: string;
  /** A non-2xx answer's first 2 KB, as bytes (a 2xx answer is not kept: only its length). */
  kept: Buffer | null;
  /** How many bytes of the answer were read (reading stops past 64 KB). */
  bodyBytes: number;
}

const KEPT_BODY_BYTES = 2048;
/** Past this, the rest of an answer is not worth reading: the connection is dropped instead. */
const DRAINED_BODY_BYTES = 64 * 1024;
const MAX_POOLS = 1000;
const MAX_PARSED_URLS = 10_000;
/** Longer than any attempt may last (an endpoint's timeoutMs is at most 120 s). */
const RETIRED_POOL_LIFETIME_MS = 130_000;
/** undici refusing a request it was handed (a header it does not allow, a closed pool): never sent. */
const REFUSED_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_DESTROYED', 'UND_ERR_CLOSED']);

interface PoolEntry {
  pool: Pool;
  /** The count of requests made when it was last used. */
  used: number;
  /**
   * Later deliveries to the origin get a new pool. For a request undici refuses before sending it, it still
   * marks the connection slot busy, for good: after `connections` of them the pool would never send again.
   */
  replace: () => void;
}

/**
 * POSTs deliveries over one keep-alive undici Pool per origin. Redirects are never followed. Unless
 * OUTBOUND_ALLOW_PRIVATE_NETWORKS, every connection is checked at connect time: IP literals before
 * dialling, names through a guarded DNS lookup, and the socket's peer address once connected.
 */
@Injectable()
export class DeliveryClient implements OnApplicationShutdown {
  /** Per origin (least recently used is closed first). */
  private readonly pools = new Map<string, PoolEntry>();
  private uses = 0;
  /** Pools replaced after a refused request, closing once their requests in flight are done. */
  private readonly retiring = new Set<Pool>();
  private readonly urls = new LRUCache<string, { origin: string; path: string }>({ max: MAX_PARSED_URLS });
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

  /**
   * One POST through the pool's raw dispatch (no response stream, abort signal or async resource per
   * request: at thousands a second they cost more than the request itself). `timeoutMs` bounds the whole attempt.
   */
  post(request: DeliveryRequest): Promise<DeliveryResponse> {
    const { origin, path } = this.parse(request.url);
    return new Promise<DeliveryResponse>((resolve, reject) => {
      const entry = this.pool(origin);
      const handler = new DeliveryHandler(resolve, reject, request.timeoutMs, entry.replace);
      entry.pool.dispatch(
        {
          origin,
          method: 'POST',
          path,
          headers: request.headers,
          body: request.body,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        },
        handler,
      );
      // Refused while dispatching (an invalid stored header, a closed pool): see PoolEntry.replace.
      if (handler.settled) entry.replace();
    });
  }

  private parse(url: string): { origin: string; path: string } {
    let parsed = this.urls.get(url);
    if (!parsed) {
      const { origin, pathname, search } = new URL(url);
      parsed = { origin, path: `${pathname}${search}` };
      this.urls.set(url, parsed);
    }
    return parsed;
  }

  private pool(origin: string): PoolEntry {
    const entry = this.pools.get(origin);
    if (entry) {
      entry.used = ++this.uses;
      return entry;
    }
    if (this.pools.size >= MAX_POOLS) this.closeLeastRecentlyUsed();
    const pool = new Pool(origin, {
      // As many as this process can have in flight: endpoints of one origin share the pool.
      connections: this.config.outbound.workerConcurrency,
      connect: this.connect,
      keepAliveTimeout: 30_000,
    });
    const created: PoolEntry = { pool, used: ++this.uses, replace: () => this.replacePool(origin, pool) };
    this.pools.set(origin, created);
    return created;
  }

  /** Later deliveries to the origin get a new pool; the old one finishes what it has in flight, then closes. */
  private replacePool(origin: string, pool: Pool): void {
    if (this.pools.get(origin)?.pool !== pool) return;
    this.pools.delete(origin);
    this.retiring.add(pool);
    // Requests queued behind a refused one may never leave the old pool: past the longest attempt, nothing in
    // it can still be waited for.
    const deadline = setTimeout(() => void pool.destroy().catch(() => undefined), RETIRED_POOL_LIFETIME_MS);
    deadline.unref();
    void pool
      .close()
      .catch(() => undefined)
      .finally(() => {
        clearTimeout(deadline);
        this.retiring.delete(pool);
      });
  }

  /** A scan, but only when MAX_POOLS origins are open: cheaper than reordering the map on every request. */
  private closeLeastRecentlyUsed(): void {
    let oldest: [string, PoolEntry] | undefined;
    for (const entry of this.pools) if (!oldest || entry[1].used < oldest[1].used) oldest = entry;
    if (!oldest) return;
    this.pools.delete(oldest[0]);
    void oldest[1].pool.close().catch(() => undefined);
  }

  /** After the workers drained (beforeApplicationShutdown): deliveries in flight still need it. */
  async onApplicationShutdown(): Promise<void> {
    const pools = [...this.pools.values()].map(({ pool }) => pool).concat([...this.retiring]);
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
    this.pools.clear();
    this.retiring.clear();
  }
}

/** Keeps a failure's first 2 KB, settles once: on the answer's end, an error, or the attempt's deadline. */
class DeliveryHandler implements Dispatcher.DispatchHandler {
  private controller?: Dispatcher.DispatchController;
  private readonly timer: NodeJS.Timeout;
  settled = false;
  private statusCode = 0;
  private retryAfter?: string;
  private keeping = false;
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private seen = 0;

  constructor(
    private readonly resolve: (response: DeliveryResponse) => void,
    private readonly reject: (error: Error) => void,
    timeoutMs: number,
    private readonly replacePool: () => void,
  ) {
    this.timer = setTimeout(() => {
      const error = Object.assign(new Error('no answer within the delivery timeout'), { name: 'TimeoutError' });
      this.fail(error);
      this.controller?.abort(error);
    }, timeoutMs).unref();
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Timed out while waiting for a connection.
    if (this.settled) controller.abort(new Error('delivery timed out before it was sent'));
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200) return;
    this.statusCode = statusCode;
    this.keeping = statusCode >= 300;
    const retryAfter = headers['retry-after'];
    this.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.seen += chunk.length;
    if (this.keeping && this.keptBytes < KEPT_BODY_BYTES) {
      const part = chunk.subarray(0, KEPT_BODY_BYTES - this.keptBytes);
      this.kept.push(part);
      this.keptBytes += part.length;
    }
    if (this.seen > DRAINED_BODY_BYTES) {
      this.succeed();
      controller.abort(new Error('answer too long: the rest is not read'));
    }
  }

  onResponseEnd(): void {
    this.succeed();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    // Refused when it left the pool's queue: as poisonous as a refusal while dispatching.
    if (!this.controller && REFUSED_CODES.has((error as { code?: string }).code ?? '')) this.replacePool();
    this.fail(error);
  }

  private succeed(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve({
      statusCode: this.statusCode,
      retryAfter: this.retryAfter,
      kept: this.keeping ? Buffer.concat(this.kept) : null,
      bodyBytes: this.seen,
    });
  }

  private fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.reject(error);
  }
}
