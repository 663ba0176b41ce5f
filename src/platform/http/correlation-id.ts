import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's request id is the correlation id: taken from `X-Request-Id` when the caller sent a sane one,
 * otherwise made here. It is written back onto the raw request so the request logger uses the same id.
 */
export function correlationIdFor(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  const id = typeof offered === 'string' && ACCEPTABLE.test(offered) ? offered : randomUUID();
  req.headers['x-request-id'] = id;
  return id;
}
