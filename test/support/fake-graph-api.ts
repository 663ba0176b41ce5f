import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export interface GraphRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  /** The account whose token the request carried (when tokens are checked, see acceptToken). */
  accountId?: string;
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

/** A `GET /refresh_access_token` as the fake received it (kept apart from the Send API calls). */
export interface RefreshRequest {
  grantType: string | null;
  token: string | null;
  receivedAt: number;
}

/** What Meta answers when a token is expired, revoked or unknown. */
const INVALID_TOKEN = { error: { message: 'Error validating access token', type: 'OAuthException', code: 190 } };
const SIXTY_DAYS_SECONDS = 60 * 24 * 3600;

/**
 * A stand-in for the Instagram Graph API: a real HTTP server on loopback. Every request is recorded;
 * answers come from a script (one per request, in order) and then from the default (200 with a message id).
 * Once a token is accepted (acceptToken), the Send API checks every bearer token as Meta does (401, code
 * 190 for any other), and `refresh_access_token` exchanges a valid token T for a new one, `T.renewed`.
 */
export class FakeGraphApi {
  readonly requests: GraphRequest[] = [];
  readonly refreshRequests: RefreshRequest[] = [];
  /** token → the account it belongs to */
  private readonly tokens = new Map<string, string>();
  private readonly refusedRefreshes = new Set<string>();
  private checkingTokens = false;
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

  /** Send API calls with this bearer token succeed, as `accountId`'s (from now on every token is checked). */
  acceptToken(token: string, accountId: string): void {
    this.checkingTokens = true;
    this.tokens.set(token, accountId);
  }

  /** The token no longer works (expired or revoked): 401 with Graph code 190. */
  revokeToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Refreshing this (still valid) token is refused (400, code 190): the account keeps its token. */
  refuseRefreshOf(token: string): void {
    this.refusedRefreshes.add(token);
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
    const url = new URL(req.url ?? '/', 'http://graph.invalid');
    if (url.pathname === '/refresh_access_token') return this.refresh(url, res);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const request: GraphRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      accountId: bearer ? this.tokens.get(bearer) : undefined,
      body,
      receivedAt: Date.now(),
    };
    this.requests.push(request);
    const refused = this.checkingTokens && request.accountId === undefined;
    const answer = refused
      ? { status: 401, body: INVALID_TOKEN }
      : (this.script.shift() ?? this.defaultAnswer(request));
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

  /** `GET /refresh_access_token?grant_type=ig_refresh_token&access_token=T` at the Graph origin. */
  private refresh(url: URL, res: ServerResponse): void {
    const token = url.searchParams.get('access_token');
    this.refreshRequests.push({ grantType: url.searchParams.get('grant_type'), token, receivedAt: Date.now() });
    const accountId = token ? this.tokens.get(token) : undefined;
    const ok = accountId !== undefined && url.searchParams.get('grant_type') === 'ig_refresh_token';
    if (!ok || this.refusedRefreshes.has(token ?? '')) {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify(INVALID_TOKEN));
      return;
    }
    const renewed = `${token}.renewed`;
    this.tokens.set(renewed, accountId);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: renewed, token_type: 'bearer', expires_in: SIXTY_DAYS_SECONDS }));
  }
}
