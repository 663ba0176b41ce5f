import { BadRequestException, UnsupportedMediaTypeException } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyRequest } from 'fastify';

const isWebhookRoute = (request: Pick<FastifyRequest, 'routeOptions'>) =>
  request.routeOptions?.url?.startsWith('/webhooks/') ?? false;

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
    try {
      done(null, JSON.parse(body.toString('utf8')));
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
