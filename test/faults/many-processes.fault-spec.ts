import { TEST_REDIS_URL } from '../support/test-app';
import { expectEveryLimitHeld, runManyProcesses } from './many-processes.scenario';

describe('2 API processes and 2 standalone workers on one Postgres and one Redis', () => {
  it('10,000 DMs through both ports, a worker SIGKILLed and restarted: every reply once, every limit held', async () => {
    expectEveryLimitHeld(await runManyProcesses({ REDIS_URL: TEST_REDIS_URL }));
  });
});
