import { IncomingMessage, ServerResponse } from 'node:http';
import { RequestMethod } from '@nestjs/common';
import { Params } from 'nestjs-pino';
import pino from 'pino';
import { AppConfig } from '../config/app-config';

/**
 * Structured JSON logs. Bodies are never logged (pino-http does not serialise them, and nothing here
 * adds them); headers that carry credentials are redacted; query strings are dropped because the
 * Meta handshake puts its verify token there.
 */
export function loggerParams(config: AppConfig): Params {
  const options = {
    level: config.log.level,
    genReqId: (req: IncomingMessage) => String(req.headers['x-request-id'] ?? ''),
    customAttributeKeys: { reqId: 'correlationId' },
    autoLogging: config.log.requests
      ? { ignore: (req: IncomingMessage) => (req.url ?? '').startsWith('/health') }
      : false,
    quietReqLogger: true,
    serializers: {
      req: (req: IncomingMessage & { id?: string }) => ({ method: req.method, url: (req.url ?? '').split('?')[0] }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-hub-signature-256"]',
        'req.headers.cookie',
        '*.text',
        '*.body',
      ],
      censor: '[redacted]',
    },
  };
  return {
    // The webhook POST logs its own line (WebhookRoute): no per-request child logger on the hot path.
    exclude: [{ method: RequestMethod.POST, path: 'webhooks/:provider' }],
    pinoHttp: config.log.file
      ? [options, pino.destination({ dest: config.log.file, sync: true, mkdir: true })]
      : options,
  };
}
