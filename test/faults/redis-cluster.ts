import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SCRIPT = join(__dirname, '../../scripts/redis-cluster.sh');
const run = promisify(execFile);

/** A 3-master cluster on free loopback ports (scripts/redis-cluster.sh), killed and restarted empty on demand. */
export const cluster = {
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
