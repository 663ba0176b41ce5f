import request from 'supertest';
import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { verifyDelivery, WebhookReceiver } from '../support/webhook-receiver';
import { expectEverythingProcessedOnce, log, mids, outcome, postBurst } from './support';

/** A Redis this suite may kill and bring back empty (one server, or a whole cluster). */
export interface RestartableRedis {
  /** How the app reaches it (REDIS_URL, or REDIS_CLUSTER_NODES). */
  env: Record<string, string>;
  /** A queue prefix of the app's (a {hash-tag} on a cluster); the default: the test app's own. */
  prefix?: string;
  start(): Promise<void>;
  /** SIGKILL: everything in it is gone. */
  kill(): Promise<void>;
  running(): boolean;
}

/** The Redis-restart fault case over `redis` (started by the case, left running for the caller to stop). */
export function describeRedisRestart(title: string, redis: RestartableRedis): void {
  describe(title, () => {
    let t: TestApp | undefined;
    const subscriber = new WebhookReceiver();

    afterAll(async () => {
      await subscriber.stop();
      try {
        // Closing the app needs its Redis: bring it back if a failed run left it down.
        if (!redis.running()) await redis.start();
        await t?.close();
      } finally {
        await redis.kill();
      }
    });

    it('acknowledges during the outage, re-enqueues every unfinished event from Postgres, replies to each once, and delivers every outbound event', async () => {
      await redis.start();
      await subscriber.start();
      t = await startTestApp({
        prefix: redis.prefix,
        env: {
          ...redis.env,
          LOG_LEVEL: 'warn',
          WORKER_CONCURRENCY: '50',
          OPS_API_KEYS: 'sb_ops_redis-restart-key-0123456789abcdef',
          OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        },
      });
      const app = t;
      // A subscriber to the bridge's events: their deliveries are queued in Redis when it goes.
      const endpoint = await request(app.url)
        .post('/endpoints')
        .set({ authorization: 'Bearer sb_ops_redis-restart-key-0123456789abcdef' })
        .send({ url: subscriber.url('/crm'), events: ['instagram.message.received'] });
      expect(endpoint.status).toBe(201);
      const first = mids('rrst', 4000);
      const duringOutage = mids('rrstdown', 1000);
      const burst = postBurst(app.url, first, 32);
      await waitFor(async () => (await outcome(app, 'rrst')).repliesSent >= 1000, {
        timeoutMs: 90_000,
        intervalMs: 200,
      });
      await redis.kill();
      log(`Redis killed: ${JSON.stringify(await outcome(app, 'rrst'))}`);
      // While Redis is down the webhooks are still acknowledged: Postgres alone makes a 200 safe.
      const down = postBurst(app.url, duringOutage, 16);
      await down.done;
      expect(down.acknowledged()).toHaveLength(duringOutage.length);
      await redis.start();
      log('Redis back, empty');
      await burst.done;

      for (const [prefix, sent, acknowledged] of [
        ['rrst', first, burst.acknowledged()],
        ['rrstdown', duringOutage, down.acknowledged()],
      ] as const) {
        expect(acknowledged).toHaveLength(sent.length);
        const result = await expectEverythingProcessedOnce(app, prefix, acknowledged, 120_000);
        log(`${prefix} after recovery: ${JSON.stringify(result.final)}`);
        expect(result.lost).toEqual([]);
        expect(result.final.processed).toBe(sent.length);
        expect(result.tally.duplicates).toBe(0);
        // Jobs active when Redis vanished may be re-run: their reply is then `unknown`, never sent twice.
        expect(result.final.repliesSent + result.final.repliesUnknown).toBe(sent.length);
        expect(result.sentWithoutCall).toBe(0);
      }

      // Every processed message's outbound event reaches the subscriber (at least once, same webhook-id).
      const total = first.length + duringOutage.length;
      const deliveries = await waitFor(
        async () => {
          const { rows } = await app.db.pool.query(
            `SELECT count(*)::int AS events,
                    (SELECT count(*) FROM outbound_deliveries WHERE status = 'succeeded')::int AS succeeded,
                    (SELECT count(*) FROM outbound_deliveries WHERE status <> 'succeeded')::int AS other
               FROM outbound_events WHERE event_type = 'instagram.message.received'`,
          );
          const now = rows[0] as { events: number; succeeded: number; other: number };
          return now.events === total && now.succeeded === total ? now : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500, message: 'every outbound delivery succeeded' },
      );
      const received = subscriber.at('/crm');
      const ids = new Set(received.map((hit) => String(hit.headers['webhook-id'])));
      log(`outbound after recovery: ${JSON.stringify(deliveries)}, ${received.length} requests for ${ids.size} events`);
      expect(ids.size).toBe(total);
      expect(verifyDelivery(endpoint.body.secret, received[received.length - 1]).type).toBe(
        'instagram.message.received',
      );
    });
  });
}
