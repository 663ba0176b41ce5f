import { FastifyInstance } from 'fastify';
import { sendErrorBody } from '../http/error-body.filter';
import { ApiKeyGuard, AuthenticatedRequest, MISSING_KEY_MESSAGE } from './api-key.guard';

/** The first path segment of every route that needs an API key (each controller under them has @Roles). */
const PROTECTED_SEGMENTS = new Set(['admin', 'endpoints', 'events', 'audit-logs', 'messages']);

export function isKeyProtectedRoute(route: string | undefined): boolean {
  if (!route) return false;
  const end = route.indexOf('/', 1);
  return PROTECTED_SEGMENTS.has(route.slice(1, end === -1 ? undefined : end));
}

/**
 * The API key of a protected route is checked as soon as the request's headers are in, before its body is
 * read or parsed: without a valid key, 401 at once. ApiKeyGuard then checks the role (403) with the caller
 * found here.
 */
export function checkApiKeysBeforeBodies(fastify: FastifyInstance, guard: ApiKeyGuard): void {
  // Callback style, not async: every request passes here, and the webhook path should not pay a promise for it.
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!isKeyProtectedRoute(request.routeOptions.url)) return done();
    guard.authenticate(request.headers.authorization).then((actor) => {
      // Answered here, so the request goes no further (done is not called).
      if (!actor) return void sendErrorBody(reply, 401, MISSING_KEY_MESSAGE, String(request.id));
      (request as AuthenticatedRequest).authenticated = actor;
      done();
    }, done);
  });
}
