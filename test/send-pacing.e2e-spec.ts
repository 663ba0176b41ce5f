import { TestApp, postWebhook, startTestApp } from './support/test-app';
import { waitFor } from './support/wait';

const RATE = 10;
const BUSY = 50;

function envelope(accountId: string, senders: string[], tag: string): string {
  const now = Date.now();
  return JSON.stringify({
    object: 'instagram',
    entry: [
      {
        id: accountId,
        time: now,
        messaging: senders.map((sender, i) => ({
          sender: { id: sender },
          recipient: { id: accountId },
          timestamp: now,
          message: { mid: `m_${tag}_${i}`, text: 'hello' },
        })),
      },
    ],
  });
}

/** Sends per second: the least-squares slope of send count over time (robust to one late or early edge). */
function sendRate(times: number[]): number {
  const n = times.length;
  const meanT = times.reduce((a, b) => a + b, 0) / n;
  const meanI = (n - 1) / 2;
  let num = 0;
  let den = 0;
  times.forEach((time, i) => {
    num += (time - meanT) * (i - meanI);
    den += (time - meanT) ** 2;
  });
  return (num / den) * 1000;
}

describe('reply pacing per account (Redis schedule shared by all workers)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { SEND_RATE_PER_SECOND: String(RATE), SEND_BURST: '1', WORKER_CONCURRENCY: '30' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string) => postWebhook(t, body);
  const arrivals = (prefix: string) =>
    t.graph.requests.filter((r) => r.body.recipient?.id?.startsWith(prefix)).map((r) => r.receivedAt);

  it('sends at the configured rate for a busy account, and another account is not held up by it', async () => {
    const busy = Array.from({ length: BUSY }, (_, i) => `busy-${i}`);
    const quiet = Array.from({ length: 5 }, (_, i) => `quiet-${i}`);
    expect((await post(envelope('acct-busy', busy, 'busy'))).status).toBe(200);
    expect((await post(envelope('acct-quiet', quiet, 'quiet'))).status).toBe(200);

    await waitFor(() => arrivals('busy-').length === BUSY && arrivals('quiet-').length === 5, {
      timeoutMs: 30_000,
      message: 'all replies sent',
    });
    const busyTimes = arrivals('busy-').sort((a, b) => a - b);
    const measured = sendRate(busyTimes);
    expect(Math.abs(measured - RATE) / RATE).toBeLessThan(0.05);

    // The quiet account's five replies need half a second of its own schedule; sharing the busy account's
    // they would come after its fifty. They are all out before the busy account's twentieth.
    expect(Math.max(...arrivals('quiet-'))).toBeLessThan(busyTimes[19]);
    expect(t.graph.requests.filter((r) => r.body.recipient?.id?.match(/^(busy|quiet)-/))).toHaveLength(BUSY + 5);
  });

  it('slows an account down after Graph throttling instead of burning attempts', async () => {
    t.graph.answerNext({ status: 400, body: { error: { code: 4, message: 'Application request limit reached' } } });
    t.graph.answerNext({ status: 400, body: { error: { code: 4, message: 'Application request limit reached' } } });
    t.graph.answerNext({ status: 400, body: { error: { code: 4, message: 'Application request limit reached' } } });
    expect((await post(envelope('acct-throttled', ['throttled-0'], 'throttled'))).status).toBe(200);
    await waitFor(
      async () => {
        const { rows } = await t.db.pool.query(
          `SELECT status FROM inbound_events WHERE meta_message_id = 'm_throttled_0'`,
        );
        return rows[0]?.status === 'processed';
      },
      { timeoutMs: 20_000 },
    );
    // Three throttled calls, then the reply: MAX_ATTEMPTS is 3, so counted attempts would have dead-lettered it.
    expect(t.graph.requests.filter((r) => r.body.recipient?.id === 'throttled-0')).toHaveLength(4);
    const { rows } = await t.db.pool.query(
      `SELECT r.status FROM replies r JOIN inbound_events e ON e.id = r.event_id WHERE e.meta_message_id = 'm_throttled_0'`,
    );
    expect(rows[0].status).toBe('sent');
    if (t.redis.status === 'wait') await t.redis.connect();
    expect(await t.redis.get(`${t.prefix}:pace:instagram:acct-throttled:penalty`)).toBe('2');
  });
});
