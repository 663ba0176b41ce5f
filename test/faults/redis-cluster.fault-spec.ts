import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expectEveryLimitHeld, runManyProcesses } from './many-processes.scenario';
import { describeRedisRestart } from './redis-restart.case';

const SCRIPT = join(__dirname, '../../scripts/redis-cluster.sh');
const run = promisify(execFile);

/** A 3-master cluster on free loopback ports (scripts/redis-cluster.sh), killed and restarted empty on demand. */
const cluster = {
  dir: '',
  nodes: '',
  up: false,
  async start(): Promise<void> {
    if (this.up) return;
    if (!this.dir) {
      const { stdout } = await run('bash', [SCRIPT, 'start']);
      this.nodes = /^REDIS_CLUSTER_NODES=(.+)$/m.exec(stdout)?.[1] ?? '';
      this.dir = /^REDIS_CLUSTER_DIR=(.+)$/m.exec(stdout)?.[1] ?? '';
    } else {
      await run('bash', [SCRIPT, 'restart', this.dir]);
    }
    this.up = true;
  },
  async kill(): Promise<void> {
    if (this.dir) await run('bash', [SCRIPT, 'kill', this.dir]);
    this.up = false;
  },
  async stop(): Promise<void> {
    if (this.dir) await run('bash', [SCRIPT, 'stop', this.dir]);
    this.dir = '';
    this.up = false;
  },
};

afterAll(async () => {
  await cluster.stop();
});

describe('on a 3-master Redis Cluster: 2 API processes and 2 standalone workers', () => {
  it('4,000 DMs through both ports, a worker SIGKILLed and restarted: every reply once, every limit held', async () => {
    await cluster.start();
    const result = await runManyProcesses(
      { REDIS_CLUSTER_NODES: cluster.nodes, QUEUE_PREFIX: `{sbmany-${randomBytes(4).toString('hex')}}` },
      4000,
    );
    expectEveryLimitHeld(result);
  });
});

describeRedisRestart('a Redis Cluster restarted (no persistence: the queues are gone) in the middle of a burst', {
  get env() {
    return { REDIS_CLUSTER_NODES: cluster.nodes };
  },
  prefix: `{sbtest-${randomBytes(4).toString('hex')}}`,
  start: () => cluster.start(),
  kill: () => cluster.kill(),
  running: () => cluster.up,
});
