import { TEST_REDIS_URL } from '../support/test-app';
import {
  ACCOUNTS,
  ENDPOINT_RATE,
  MESSAGES,
  runManyProcesses,
  SEND_BURST,
  SEND_RATE,
  SLOW_ENDPOINT_CONCURRENCY,
} from './many-processes.scenario';

describe('2 API processes and 2 standalone workers on one Postgres and one Redis', () => {
  it('10,000 DMs through both ports, a worker SIGKILLed and restarted: every reply once, every limit held', async () => {
    const result = await runManyProcesses({ REDIS_URL: TEST_REDIS_URL });
    expect(result.acknowledged).toBe(MESSAGES);
    expect(result.final.events).toBe(MESSAGES);
    expect(result.final.processed).toBe(MESSAGES);
    expect(result.final.deadLettered).toBe(0);
    // A reply whose request was in flight at the kill is `unknown` (never resent blindly); every other is sent.
    expect(result.final.repliesSent + result.final.repliesUnknown).toBe(MESSAGES);
    // (At most the kill's in-flight sends, and Send API timeouts on a saturated machine.)
    expect(result.final.repliesUnknown).toBeLessThanOrEqual(200);
    expect(result.overReplied).toEqual([]);
    expect(result.graphCalls).toBeLessThanOrEqual(MESSAGES);
    expect(result.graphCalls).toBeGreaterThanOrEqual(result.final.repliesSent);
    expect(result.perAccount).toHaveLength(ACCOUNTS);
    for (const account of result.perAccount) {
      expect(account.busiestSecond).toBeLessThanOrEqual(SEND_RATE + SEND_BURST);
      expect(Math.abs(account.rate - SEND_RATE) / SEND_RATE).toBeLessThan(0.05);
    }
    expect(result.endpoint.received).toBeGreaterThan(ENDPOINT_RATE * 20);
    expect(result.endpoint.busiestSecond).toBeLessThanOrEqual(ENDPOINT_RATE + 1);
    // The endpoint concurrency cap is per worker process: two workers may hold twice the cap.
    expect(result.slowEndpoint.maxConcurrent).toBeLessThanOrEqual(2 * SLOW_ENDPOINT_CONCURRENCY);
  });
});
