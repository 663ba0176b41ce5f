import { randomBytes } from 'node:crypto';
import { expectEveryLimitHeld, runManyProcesses } from './many-processes.scenario';
import { cluster } from './redis-cluster';

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
