import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer this late (a timing-out subscriber). */
  delayMs?: number;
}

/** Decides the answer for a request; `n` counts requests to the same path (1-based). */
export type Responder = (request: ReceivedWebhook, n: number) => Reply;

/** A subscriber on loopback: records every request and answers as each path is told to. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  connections = 0;
  private readonly open = new Map<string, { now: number; max: number }>();
  private readonly responders = new Map<string, Responder>();
  private readonly counts = new Map<string, number>();
  private server?: Server;
  private host = '127.0.0.1';
  private port = 0;

  async start(host = '127.0.0.1'): Promise<string> {
    this.host = host;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = {
          path: req.url ?? '/',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.received.push(request);
        const n = (this.counts.get(request.path) ?? 0) + 1;
        this.counts.set(request.path, n);
        const responder: Responder = this.responders.get(request.path) ?? (() => ({ status: 200, body: 'ok' }));
        const reply = responder(request, n);
        const open = this.open.get(request.path) ?? { now: 0, max: 0 };
        open.now++;
        open.max = Math.max(open.max, open.now);
        this.open.set(request.path, open);
        res.on('close', () => open.now--);
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(reply.status, reply.headers);
          res.end(reply.body ?? '');
        };
        if (reply.delayMs) setTimeout(send, reply.delayMs).unref();
        else send();
      });
    });
    this.server.on('connection', () => this.connections++);
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server!.listen(0, host, resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.url('');
  }

  url(path: string, host = this.host): string {
    return `http://${host}:${this.port}${path}`;
  }

  on(path: string, responder: Responder): void {
    this.responders.set(path, responder);
  }

  /** The most requests to `path` that were open at once. */
  maxConcurrent(path: string): number {
    return this.open.get(path)?.max ?? 0;
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((request) => request.path === path);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Verifies a received delivery as a subscriber would; returns the parsed body or throws. */
export function verifyDelivery(
  secret: string,
  request: ReceivedWebhook,
): { type: string; timestamp: string; data: any } {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as { type: string; timestamp: string; data: any };
}
