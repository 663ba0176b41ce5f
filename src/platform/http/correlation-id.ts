import { randomUUID } from 'node:crypto';
import { FastifyRequest } from 'fastify';

const ACCEPTABLE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's request id is the correlation id, and the server makes it: an unauthenticated caller never
 * chooses what its request is logged and audited under (it could otherwise pose as another request).
 */
export function newCorrelationId(): string {
  return randomUUID();
}

/**
 * Once a request is authenticated (a valid webhook signature, a valid API key), a sane `X-Request-Id` it
 * sent becomes its correlation id, so a caller can follow its own id through our logs and audit trail.
 * Called before anything is logged or stored under the request's id: the answer's header, the request
 * log line and the audit entries all read `request.id` afterwards.
 */
export function adoptCallerRequestId(request: FastifyRequest): void {
  const offered = request.headers['x-request-id'];
  if (typeof offered === 'string' && ACCEPTABLE.test(offered)) (request as { id: string }).id = offered;
}
