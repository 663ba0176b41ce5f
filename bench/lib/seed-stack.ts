import { Queue } from 'bullmq';
import express, { Request } from 'express';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AddressInfo } from 'node:net';

/**
 * The second ingest baseline: the stack the seed documents describe. Express with express.json (the raw
 * body kept for the signature), HMAC-SHA256 verification, then BullMQ `queue.add` with the whole parsed
 * payload as the job's data; no database. It answers 200 after the add, as that design does.
 * SECRET, REDIS_URL and QUEUE_PREFIX come from the bench.
 */
const secret = process.env.SECRET ?? '';
const queue = new Queue('webhooks', {
  connection: { url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', maxRetriesPerRequest: null },
  prefix: process.env.QUEUE_PREFIX ?? 'seedbench',
});

type RawRequest = Request & { rawBody?: Buffer };

function signed(request: RawRequest): boolean {
  const header = request.header('x-hub-signature-256') ?? '';
  if (!header.startsWith('sha256=') || !request.rawBody) return false;
  const expected = createHmac('sha256', secret).update(request.rawBody).digest();
  const given = Buffer.from(header.slice(7), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const app = express();
app.use(
  express.json({
    limit: '10mb',
    verify: (request, _response, buffer) => {
      (request as RawRequest).rawBody = buffer;
    },
  }),
);
app.post('/webhooks/:provider', async (request: RawRequest, response) => {
  if (!signed(request)) {
    response.status(401).send('invalid signature');
    return;
  }
  try {
    await queue.add('webhook', request.body, { removeOnComplete: true });
    response.status(200).type('text/plain').send('EVENT_RECEIVED');
  } catch {
    response.status(500).send('queue unavailable');
  }
});

const server = app.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
server.keepAliveTimeout = 72_000;
const stop = () =>
  void queue
    .close()
    .catch(() => undefined)
    .then(() => server.close(() => process.exit(0)));
process.on('SIGTERM', stop);
process.on('disconnect', stop);
