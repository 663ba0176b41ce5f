import { LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { FastifyInstance } from 'fastify';
import { Logger } from 'nestjs-pino';
import { existsSync } from 'node:fs';
import { ApiModule, WorkerProcessModule } from './app.module';
import { configureBodyParsing, limitBodiesPerRoute } from './platform/http/body-parsing';
import { newCorrelationId } from './platform/http/correlation-id';
import { ErrorBodyFilter } from './platform/http/error-body.filter';
import { logRequests } from './platform/logging/logging';
import { documentErrorBody } from './platform/http/error-body.openapi';
import { ApiKeyGuard } from './platform/auth/api-key.guard';
import { checkApiKeysBeforeBodies } from './platform/auth/api-key.hook';
import { AppConfig } from './platform/config/app-config';
import { DependencyUnavailableError, prepareDatabase } from './platform/database/database-bootstrap';
import { pingRedis } from './platform/redis/redis-connections';

/** Reads `.env` (when present) and validates the environment. */
export function loadConfig(): AppConfig {
  if (existsSync('.env')) process.loadEnvFile('.env');
  return AppConfig.fromEnvironment(process.env);
}

/** Before any module starts: Postgres (created and migrated under a lock) and Redis must answer. */
export async function prepareDependencies(config: AppConfig): Promise<void> {
  await prepareDatabase(config.databaseUrl);
  try {
    await pingRedis(config);
  } catch (error) {
    throw new DependencyUnavailableError(
      'Redis',
      'start it with `redis-server --daemonize yes` (or `docker compose up -d redis`), or set REDIS_URL',
      error,
    );
  }
}

/** The API process (with the in-process workers when WORKERS_ENABLED), ready to listen. */
export async function createApiApp(
  config: AppConfig,
  options: { nestLogLevels?: LogLevel[] } = {},
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.register({ withWorkers: config.workers.enabled }),
    new FastifyAdapter({
      bodyLimit: config.maxBodyBytes,
      genReqId: newCorrelationId,
      trustProxy: config.trustProxy,
      ...httpTimeouts(config),
    }),
    { bufferLogs: true, logger: options.nestLogLevels },
  );
  configureHttp(app, config);
  checkApiKeysBeforeBodies(app.getHttpAdapter().getInstance(), app.get(ApiKeyGuard));
  return app;
}

/** The standalone worker: processors only, plus /health on WORKER_HEALTH_PORT when that is set. */
export async function createWorkerApp(
  config: AppConfig,
): Promise<NestFastifyApplication | ReturnType<typeof NestFactory.createApplicationContext>> {
  if (config.workers.healthPort === undefined) {
    const context = await NestFactory.createApplicationContext(WorkerProcessModule, { bufferLogs: true });
    context.useLogger(context.get(Logger));
    context.enableShutdownHooks();
    return context;
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    WorkerProcessModule,
    new FastifyAdapter({ genReqId: newCorrelationId, ...httpTimeouts(config) }),
    {
      bufferLogs: true,
    },
  );
  configureHttp(app, config);
  return app;
}

/**
 * Slow clients are cut off: HTTP_REQUEST_TIMEOUT_MS bounds the time to receive a whole request, headers
 * included (answered 408, then closed), checked every tenth of it. Keep-alive outlasts a load balancer's
 * usual 60 s idle timeout, and a socket serves at most 1000 requests, so long-lived connections rebalance
 * across processes. The socket inactivity timeout also counts the time a handler takes (Node's rule), so
 * it is only a backstop: longer than any statement an admin request may run (retention, erasure).
 */
function httpTimeouts(config: AppConfig) {
  const requestTimeout = config.httpRequestTimeoutMs;
  return {
    requestTimeout,
    connectionTimeout: Math.max(requestTimeout, config.databaseMaintenanceTimeoutMs) + 60_000,
    keepAliveTimeout: 72_000,
    maxRequestsPerSocket: 1000,
    http: {
      requestTimeout,
      // Node checks request deadlines on this interval (30 s by default, longer than the timeout itself).
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(requestTimeout / 10))),
    },
  };
}

function configureHttp(app: NestFastifyApplication, config: AppConfig): void {
  app.useLogger(app.get(Logger));
  sendSecurityHeaders(app.getHttpAdapter().getInstance());
  limitBodiesPerRoute(app, { webhookBytes: config.maxBodyBytes, otherBytes: config.adminMaxBodyBytes });
  configureBodyParsing(app, config.maxBodyBytes);
  app.useGlobalFilters(new ErrorBodyFilter());
  // Every DTO is validated; unknown fields are refused (400 in the shared error shape).
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }));
  app.enableShutdownHooks();
  const fastify = app.getHttpAdapter().getInstance();
  logRequests(fastify, config);
  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', request.id);
    done(null, payload);
  });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Switchboard')
      .setDescription(
        'Receives Meta webhooks durably, processes them, audits every step, and delivers signed outbound webhooks.',
      )
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, documentErrorBody(document));
}

/**
 * On every answer: no content sniffing (the handshake reflects `hub.challenge` as text/plain), no framing,
 * no referrer. A page with its own Content-Security-Policy (/ui) replaces this one; `frame-ancestors` alone
 * leaves /docs (Swagger UI) working.
 */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

function sendSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(SECURITY_HEADERS);
    done();
  });
}

/** Start-up failures a person can act on: say which dependency and how to start it, then exit non-zero. */
export function exitOnStartupFailure(error: unknown): never {
  if (error instanceof DependencyUnavailableError) {
    process.stderr.write(`switchboard: ${error.message}\n  ${error.hint}\n`);
  } else {
    process.stderr.write(`switchboard: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
}
