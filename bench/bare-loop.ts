import { Pool } from 'undici';

/**
 * bench:deliver's baseline in a process of its own: the same POSTs to the same receiver with nothing
 * around them. In the app's process it would share what is process-wide there (its heap and GC, any
 * async hooks), which would slow the baseline by whatever the app costs.
 */
interface BareLoopRequest {
  origin: string;
  body: string;
  count: number;
  concurrency: number;
  endpoints: number;
}

process.on('message', (request: BareLoopRequest) => {
  bareLoop(request).then(
    (result) => process.send?.(result),
    (error: unknown) => process.send?.({ error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));

async function bareLoop({ origin, body, count, concurrency, endpoints }: BareLoopRequest) {
  const pool = new Pool(origin, { connections: concurrency });
  let next = 0;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const n = next++;
        const response = await pool.request({
          method: 'POST',
          path: `/hooks/${n % endpoints}`,
          headers: { 'content-type': 'application/json', 'webhook-id': `msg_${n}` },
          body,
        });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`receiver answered ${response.statusCode}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await pool.close();
  return { perSecond: count / seconds, cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / count };
}
