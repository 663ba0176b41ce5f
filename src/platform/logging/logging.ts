import { IncomingMessage, ServerResponse } from 'node:http';
import { FastifyInstance } from 'fastify';
import { Params, PinoLogger } from 'nestjs-pino';
import pino from 'pino';
import { AppConfig } from '../config/app-config';

/**
 * Structured JSON logs. Bodies are never logged (nothing here serialises them); headers that carry
 * credentials are redacted; query strings are dropped because the Meta handshake puts its verify token there.
 */
export function loggerParams(config: AppConfig): Params {
  const options = {
    level: config.log.level,
    // As given: pino-http's wrappers expect Node's request and response, and the lines carry plain objects.
    wrapSerializers: false,
    serializers: {
      req: (req: Pick<IncomingMessage, 'method' | 'url'>) => ({
        method: req.method,
        url: (req.url ?? '').split('?')[0],
      }),
      res: (res: Pick<ServerResponse, 'statusCode'>) => ({ statusCode: res.statusCode }),
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
  const pretty = prettyLogs(config, process.stdout.isTTY === true);
  return {
    // No per-request logger middleware. nestjs-pino binds its request logger with AsyncLocalStorage, and on
    // Node 20 the first one entered installs promise hooks for the whole process, for good: every await in
    // the workers then pays for them (about a tenth of an outbound delivery's CPU, measured with
    // bench:deliver). Request lines come from logRequests() instead, and lines logged while a request is
    // handled name its correlationId themselves.
    forRoutes: [],
    pinoHttp: config.log.file
      ? [options, pino.destination({ dest: config.log.file, sync: true, mkdir: true })]
      : pretty
        ? { ...options, transport: pretty }
        : options,
  };
}

/**
 * Readable lines for a person at a terminal (development, stdout a TTY, no LOG_FILE): pino-pretty, in a
 * worker thread of its own. Production, a pipe or a file get JSON, one object a line.
 */
export function prettyLogs(
  config: Pick<AppConfig, 'nodeEnv' | 'log'>,
  stdoutIsTTY: boolean,
): { target: string; options: Record<string, unknown> } | undefined {
  if (config.nodeEnv === 'production' || !stdoutIsTTY || config.log.file) return undefined;
  return {
    target: 'pino-pretty',
    options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true },
  };
}

/**
 * One line per answered request when LOG_REQUESTS (health checks excepted): its correlation id, method,
 * path without the query string, status and time. A 5xx is logged at error level.
 */
export function logRequests(fastify: FastifyInstance, config: AppConfig): void {
  if (!config.log.requests) return;
  fastify.addHook('onResponse', (request, reply, done) => {
    const url = request.url.split('?')[0];
    if (!url.startsWith('/health')) {
      const statusCode = reply.statusCode;
      const line = {
        correlationId: String(request.id),
        req: { method: request.method, url },
        res: { statusCode },
        responseTime: Math.round(reply.elapsedTime),
      };
      if (statusCode >= 500) PinoLogger.root.error(line, 'request errored');
      else PinoLogger.root.info(line, 'request completed');
    }
    done();
  });
}
