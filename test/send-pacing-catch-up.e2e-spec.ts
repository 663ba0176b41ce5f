import { InboundEventProcessor } from '../src/inbound/processing/inbound-event.processor';
import { busiestSecond } from './support/busiest-second';
import { TestApp, postWebhook, startTestApp } from './support/test-app';
import { waitFor } from './support/wait';

const RATE = 10;
const BURST = 2;
const REPLIES = 60;

function envelope(accountId: string, count: number, tag: string): string {
  const now = Date.now();
  return JSON.stringify({
    object: 'instagram',
    entry: [
      {
        id: accountId,
        time: now,
        messaging: Array.from({ length: count }, (_, i) => ({
          sender: { id: `${tag}-${i}` },
          recipient: { id: accountId },
          timestamp: now,
          message: { mid: `m_${tag}_${i}`, text: 'hello' },
        })),
      },
    ],
  });
}

describe('reply pacing while a backlog drains (workers starved, then back)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      env: { SEND_RATE_PER_SECOND: String(RATE), SEND_BURST: String(BURST), WORKER_CONCURRENCY: '50' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  const arrivals = (prefix: string) =>
    t.graph.requests.filter((r) => r.body.recipient?.id?.startsWith(prefix)).map((r) => r.receivedAt);

  it('replies parked for slots that passed while no worker ran do not go out together', async () => {
    const worker = t.app.get(InboundEventProcessor).worker;
    expect((await postWebhook(t, envelope('acct-catchup', REPLIES, 'catchup'))).status).toBe(200);
    // Every reply has its slot (six seconds of them) and most are parked for it; then the workers stop.
    await waitFor(() => arrivals('catchup-').length >= 5, { timeoutMs: 10_000, message: 'the first replies' });
    await worker.pause();
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() - stoppedAt >= 4000, { timeoutMs: 5000, intervalMs: 100 });
    const sentBefore = arrivals('catchup-').length;
    worker.resume();

    await waitFor(() => arrivals('catchup-').length === REPLIES, { timeoutMs: 30_000, message: 'all replies sent' });
    const a0 = Math.min(...arrivals('catchup-'));
    expect(busiestSecond(arrivals('catchup-'))).toBeLessThanOrEqual(RATE + BURST);
    // And no throughput is lost: once the workers are back, the rest go out at the account's rate.
    const drain = arrivals('catchup-')
      .sort((a, b) => a - b)
      .slice(sentBefore);
    expect(drain[drain.length - 1] - drain[0]).toBeLessThan(((drain.length - 1) / RATE) * 1000 * 1.05);
    expect(new Set(t.graph.requests.map((r) => r.body.recipient?.id)).size).toBe(REPLIES);
  });
});
