import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface GraphRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: { recipient?: { id?: string }; message?: { text?: string } } & Record<string, unknown>;
  receivedAt: number;
}

export interface GraphAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Hold the answer this long (to exercise client timeouts). */
  delayMs?: number;
}

/**
 * A stand-in for the Instagram Graph API: a real HTTP server on loopback. Every request is recorded;
 * answers come from a script (one per request, in order) and then from the default (200 with a message id).
 */
export class FakeGraphApi {
  readonly requests: GraphRequest[] = [];
  private readonly script: GraphAnswer[] = [];
  private server?: Server;
  private counter = 0;
  private readonly pending = new Set<ServerResponse>();
  defaultAnswer: (request: GraphRequest) => GraphAnswer = () => ({ status: 200 });

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v23.0`;
  }

  /** The next answers, in order. */
  answerNext(...answers: GraphAnswer[]): void {
    this.script.push(...answers);
  }

  repliesTo(recipientId: string): GraphRequest[] {
    return this.requests.filter((request) => request.body.recipient?.id === recipientId);
  }

  async stop(): Promise<void> {
    for (const res of this.pending) res.destroy();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: GraphRequest['body'] = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = {};
    }
    const request: GraphRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      body,
      receivedAt: Date.now(),
    };
    this.requests.push(request);
    const answer = this.script.shift() ?? this.defaultAnswer(request);
    const reply = () => {
      this.pending.delete(res);
      if (res.destroyed) return;
      const payload =
        answer.body ??
        (answer.status < 300 ? { recipient_id: body.recipient?.id, message_id: `m_reply_${++this.counter}` } : {});
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.headers ?? {}) });
      res.end(JSON.stringify(payload));
    };
    this.pending.add(res);
    if (answer.delayMs) setTimeout(reply, answer.delayMs).unref();
    else reply();
  }
}
