import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyRequest } from 'fastify';

const isWebhookRoute = (request: Pick<FastifyRequest, 'routeOptions'>) =>
  request.routeOptions?.url?.startsWith('/webhooks/') ?? false;

/** JSON nested deeper than this is refused (400): validation and serialisation recurse, and no API body needs it. */
export const MAX_JSON_DEPTH = 64;

/** Whether objects and arrays in the JSON text nest deeper than `limit`: one pass, before anything recurses. */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}

/**
 * Webhook routes get the raw bytes, whatever the content type: the signature is over those bytes, and a
 * signed body that is not JSON must still be stored (as malformed), not refused by a parser. Every other
 * route accepts JSON only.
 */
export function configureBodyParsing(app: NestFastifyApplication, bodyLimit: number): void {
  app.getHttpAdapter().getInstance().removeAllContentTypeParsers();
  app.useBodyParser('application/json', { bodyLimit }, (request, body, done) => {
    if (isWebhookRoute(request)) return done(null, body);
    if (body.length === 0) return done(null, undefined);
    const text = body.toString('utf8');
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      return done(new BadRequestException(`request body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new BadRequestException('request body is not valid JSON'), undefined);
    }
  });
  app.useBodyParser('*', { bodyLimit }, (request, body, done) => {
    if (isWebhookRoute(request)) return done(null, body);
    done(new UnsupportedMediaTypeException('send application/json'), undefined);
  });
}

/**
 * Per route: the webhook's bodies up to MAX_BODY_BYTES (Meta batches), every other route's up to
 * ADMIN_MAX_BODY_BYTES. Call before the routes are registered.
 */
export function limitBodiesPerRoute(
  app: NestFastifyApplication,
  limits: { webhookBytes: number; otherBytes: number },
): void {
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => {
      route.bodyLimit ??= route.url.startsWith('/webhooks/') ? limits.webhookBytes : limits.otherBytes;
    });
}
