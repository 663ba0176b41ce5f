import { ChildProcess, spawn } from 'node:child_process';
import { Redis } from 'ioredis';
import { waitFor } from '../support/wait';
import { describeRedisRestart } from './redis-restart.case';

// A private Redis without persistence, so a restart loses the queue. The shared Redis on 6379 is never touched.
const PORT = Number(process.env.FAULT_REDIS_PORT ?? 6390);
const URL = `redis://127.0.0.1:${PORT}`;

async function startRedis(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const probe = new Redis(URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}); is port ${PORT} free?`);
      await probe.connect().catch(() => undefined);
      return (await probe.ping().catch(() => '')) === 'PONG';
    },
    { timeoutMs: 10_000, message: `redis-server on ${PORT}` },
  );
  probe.disconnect();
  return child;
}

async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

let server: ChildProcess | undefined;
const running = () => !!server && server.exitCode === null && server.signalCode === null;

describeRedisRestart('Redis restarted (no persistence: the queue is gone) in the middle of a burst', {
  env: { REDIS_URL: URL },
  start: async () => {
    server = await startRedis();
  },
  kill: () => stopRedis(server),
  running,
});
