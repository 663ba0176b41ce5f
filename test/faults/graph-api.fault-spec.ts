import { startTestApp, TestApp } from '../support/test-app';
import { expectEverythingProcessedOnce, mids, postBurst } from './support';

describe('the Graph API misbehaves under load', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { INSTAGRAM_TIMEOUT_MS: '3000', RETRY_BASE_DELAY_MS: '50', LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '50' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const replyStatus = async (prefix: string) =>
    new Map(
      (
        await t.db.pool.query<{ mid: string; status: string }>(
          `SELECT e.meta_message_id AS mid, r.status FROM replies r JOIN inbound_events e ON e.id = r.event_id
            WHERE e.meta_message_id LIKE $1`,
          [`${prefix}\\_%`],
        )
      ).rows.map((row) => [row.mid, row.status]),
    );

  it('a reply hanging past the client timeout is recorded `unknown` and never resent; the others are unaffected', async () => {
    const all = mids('hang', 400);
    const hanging = new Set(all.filter((_, i) => i % 10 === 0).map((mid) => `u-${mid}`));
    t.graph.defaultAnswer = (request) =>
      hanging.has(request.body.recipient?.id ?? '') ? { status: 200, delayMs: 6000 } : { status: 200 };
    const burst = postBurst(t.url, all, 16);
    await burst.done;
    expect(burst.acknowledged()).toHaveLength(all.length);

    const result = await expectEverythingProcessedOnce(t, 'hang', burst.acknowledged(), 60_000);
    expect(result.lost).toEqual([]);
    expect(result.final.processed).toBe(all.length);
    expect(result.tally.duplicates).toBe(0);
    const statuses = await replyStatus('hang');
    for (const mid of all)
      expect([mid, statuses.get(mid)]).toEqual([mid, hanging.has(`u-${mid}`) ? 'unknown' : 'sent']);
  });

  it('429 with Retry-After: waits at least that long, retries, and replies exactly once', async () => {
    const all = mids('ratelimited', 400);
    const limited = new Set(all.filter((_, i) => i % 5 === 0).map((mid) => `u-${mid}`));
    const refusedOnce = new Set<string>();
    t.graph.defaultAnswer = (request) => {
      const recipient = request.body.recipient?.id ?? '';
      if (!limited.has(recipient) || refusedOnce.has(recipient)) return { status: 200 };
      refusedOnce.add(recipient);
      return {
        status: 429,
        headers: { 'retry-after': '1' },
        body: {
          error: { message: 'Calls to this api have exceeded the rate limit.', type: 'OAuthException', code: 4 },
        },
      };
    };
    const burst = postBurst(t.url, all, 16);
    await burst.done;
    expect(burst.acknowledged()).toHaveLength(all.length);

    const result = await expectEverythingProcessedOnce(t, 'ratelimited', burst.acknowledged(), 60_000);
    expect(result.lost).toEqual([]);
    expect(result.final.processed).toBe(all.length);
    expect(result.final.repliesSent).toBe(all.length);
    for (const recipient of limited) {
      const calls = t.graph.repliesTo(recipient);
      expect(calls).toHaveLength(2);
      // Retry-After: 1 honoured (the exponential backoff alone would retry after ~50 ms).
      expect(calls[1].receivedAt - calls[0].receivedAt).toBeGreaterThanOrEqual(950);
    }
    for (const mid of all.filter((mid) => !limited.has(`u-${mid}`)))
      expect(t.graph.repliesTo(`u-${mid}`)).toHaveLength(1);
  });
});
