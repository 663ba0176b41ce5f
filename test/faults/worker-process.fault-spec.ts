import { startTestApp, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { expectEverythingProcessedOnce, killAndWait, log, mids, outcome, postBurst, startWorker } from './support';

describe('the standalone worker process dies or is stopped mid burst', () => {
  let t: TestApp;
  let worker: ReturnType<typeof startWorker> | undefined;

  beforeAll(async () => {
    // The API only acknowledges and enqueues; the workers are separate processes this suite kills.
    t = await startTestApp({ env: { WORKERS_ENABLED: 'false', LOG_LEVEL: 'warn', WORKER_CONCURRENCY: '50' } });
  });
  afterEach(async () => {
    await killAndWait(worker, 'SIGKILL');
    worker = undefined;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('SIGKILL in the middle of a 10,000-event burst, then a restart: nothing lost, no reply sent twice', async () => {
    const all = mids('wkill', 10_000);
    worker = startWorker();
    const burst = postBurst(t.url, all, 32);
    await waitFor(() => t.graph.requests.length >= 2000, {
      timeoutMs: 90_000,
      message: '2,000 replies before the kill',
    });
    await killAndWait(worker, 'SIGKILL');
    log(`worker SIGKILLed after ${t.graph.requests.length} replies`);
    const stranded = await outcome(t, 'wkill');
    worker = startWorker();
    await burst.done;

    const acknowledged = burst.acknowledged();
    expect(acknowledged).toHaveLength(all.length);
    // Jobs the dead worker held come back when their BullMQ lock expires (about 30 s).
    const result = await expectEverythingProcessedOnce(t, 'wkill', acknowledged, 180_000);
    log(`after recovery: ${JSON.stringify(result.final)}; unfinished at the kill: ${stranded.unfinished}`);
    expect(result.lost).toEqual([]);
    expect(result.final.events).toBe(all.length);
    expect(result.final.processed).toBe(all.length);
    expect(result.tally.duplicates).toBe(0);
    // A reply whose request was in flight at the kill is `unknown` (never resent blindly); every other is sent.
    expect(result.final.repliesSent + result.final.repliesUnknown).toBe(all.length);
    expect(result.final.repliesUnknown).toBeLessThanOrEqual(50);
    expect(result.sentWithoutCall).toBe(0);
  });

  it('SIGTERM to a busy worker drains its active jobs; a new worker finishes the rest; nothing lost or repeated', async () => {
    const all = mids('wterm', 3000);
    t.graph.defaultAnswer = () => ({ status: 200, delayMs: 30 });
    worker = startWorker();
    const burst = postBurst(t.url, all, 32);
    await waitFor(async () => (await outcome(t, 'wterm')).repliesSent >= 500, { timeoutMs: 60_000, intervalMs: 200 });
    const stopping = worker;
    const stoppedAt = Date.now();
    stopping.child.kill('SIGTERM');
    const code = await stopping.exited;
    const stopMs = Date.now() - stoppedAt;
    log(`worker stopped by SIGTERM in ${stopMs} ms (exit ${code}, signal ${stopping.child.signalCode})`);
    expect(stopMs).toBeLessThan(15_000);
    // Drained: nothing the stopped worker started is left half-done.
    const { rows } = await t.db.pool.query(
      `SELECT count(*)::int AS n FROM replies r JOIN inbound_events e ON e.id = r.event_id
        WHERE r.status = 'sending' AND e.meta_message_id LIKE 'wterm\\_%'`,
    );
    expect(rows[0].n).toBe(0);

    worker = startWorker();
    await burst.done;
    const acknowledged = burst.acknowledged();
    expect(acknowledged).toHaveLength(all.length);
    const result = await expectEverythingProcessedOnce(t, 'wterm', acknowledged, 120_000);
    expect(result.lost).toEqual([]);
    expect(result.final.processed).toBe(all.length);
    expect(result.final.repliesSent).toBe(all.length);
    expect(result.final.repliesUnknown).toBe(0);
    const wtermDuplicates = [...result.tally.calls].filter(
      ([recipient, n]) => recipient.startsWith('u-wterm_') && n > 1,
    );
    expect(wtermDuplicates).toEqual([]);
    t.graph.defaultAnswer = () => ({ status: 200 });
  });
});
