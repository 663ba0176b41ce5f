import { randomBytes } from 'node:crypto';
import { cluster } from './redis-cluster';
import { describeRedisRestart } from './redis-restart.case';

afterAll(async () => {
  await cluster.stop();
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
