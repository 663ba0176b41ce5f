import { classifyStatus, classifyTransport, dueIn, isPermanent, nextAttemptDelay } from './delivery-outcome';
import { filtersMatching } from '../endpoints/event-filters';
import { queuePriority } from './priority';

describe('classifyStatus', () => {
  it.each([
    [301, 'redirect'],
    [307, 'redirect'],
    [410, 'gone'],
    [429, 'throttled'],
    [502, 'throttled'],
    [503, 'throttled'],
    [504, 'throttled'],
    [500, 'server_error'],
    [400, 'client_error'],
    [404, 'client_error'],
  ])('%i is %s', (status, category) => {
    expect(classifyStatus(status).category).toBe(category);
  });

  it('reads Retry-After on throttling answers, capped at an hour', () => {
    expect(classifyStatus(429, '2').retryAfterMs).toBe(2000);
    expect(classifyStatus(503, '999999').retryAfterMs).toBe(3_600_000);
    expect(classifyStatus(500, '2').retryAfterMs).toBeUndefined();
  });
});

describe('classifyTransport', () => {
  it('tells a refused destination, a timeout and a network error apart', () => {
    expect(classifyTransport({ code: 'EBLOCKEDDESTINATION' }).category).toBe('blocked');
    expect(classifyTransport({ code: 'UND_ERR_HEADERS_TIMEOUT' }).category).toBe('timeout');
    expect(classifyTransport(Object.assign(new Error('x'), { name: 'TimeoutError' })).category).toBe('timeout');
    expect(classifyTransport({ code: 'ECONNREFUSED' }).category).toBe('network');
  });

  it('treats only gone and blocked as permanent', () => {
    expect(isPermanent('gone')).toBe(true);
    expect(isPermanent('blocked')).toBe(true);
    expect(isPermanent('server_error')).toBe(false);
  });
});

describe('nextAttemptDelay', () => {
  const schedule = [0, 5000, 300_000];
  const failure = { category: 'server_error' as const, responseCode: 500, summary: '' };

  it('follows the schedule with up to 20 % jitter, and stops when it is exhausted', () => {
    expect(nextAttemptDelay(schedule, 1, failure, () => 0)).toBe(5000);
    expect(nextAttemptDelay(schedule, 1, failure, () => 0.999)).toBeLessThanOrEqual(6000);
    expect(nextAttemptDelay(schedule, 2, failure, () => 0)).toBe(300_000);
    expect(nextAttemptDelay(schedule, 3, failure)).toBeUndefined();
  });

  it("waits at least the subscriber's Retry-After", () => {
    expect(nextAttemptDelay(schedule, 1, { ...failure, retryAfterMs: 60_000 }, () => 0)).toBe(60_000);
    expect(nextAttemptDelay(schedule, 2, { ...failure, retryAfterMs: 1000 }, () => 0)).toBe(300_000);
  });
});

describe('event types', () => {
  it('lists every filter that selects a type: itself, "*" and each prefix wildcard', () => {
    expect(filtersMatching('instagram.message.received').sort()).toEqual(
      ['*', 'instagram.*', 'instagram.message.*', 'instagram.message.received'].sort(),
    );
    expect(filtersMatching('ping').sort()).toEqual(['*', 'ping']);
  });

  it('maps priorities so that urgent jobs are served first by BullMQ', () => {
    expect(queuePriority(20)).toBeLessThan(queuePriority(10));
    expect(queuePriority(5)).toBeLessThan(queuePriority(1));
    expect(queuePriority(20)).toBeGreaterThanOrEqual(1);
  });
});

describe('dueIn', () => {
  const schedule = [0, 5_000, 300_000];
  const now = 1_000_000;

  it('is now for a delivery never attempted whose event is due', () => {
    expect(dueIn(schedule, { attempts: 0, lastAttemptMs: null, deliverAtMs: null }, now)).toBe(0);
    expect(dueIn(schedule, { attempts: 0, lastAttemptMs: null, deliverAtMs: now - 10 }, now)).toBe(0);
  });

  it("waits for the event's deliverAt", () => {
    expect(dueIn(schedule, { attempts: 0, lastAttemptMs: null, deliverAtMs: now + 4_000 }, now)).toBe(4_000);
  });

  it("keeps a failed delivery's place in the retry schedule, counted from its last attempt", () => {
    expect(dueIn(schedule, { attempts: 1, lastAttemptMs: now - 2_000, deliverAtMs: null }, now)).toBe(3_000);
    expect(dueIn(schedule, { attempts: 2, lastAttemptMs: now - 1_000, deliverAtMs: null }, now)).toBe(299_000);
    expect(dueIn(schedule, { attempts: 1, lastAttemptMs: now - 9_000, deliverAtMs: null }, now)).toBe(0);
  });
});
