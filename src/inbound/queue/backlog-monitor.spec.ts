import { Logger } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { OperationalEvent, OperationalEvents } from '../../platform/operational-events/operational-events';
import { BacklogMonitor } from './backlog-monitor';
import { InboundEventProducer } from './inbound-event.producer';

describe('BacklogMonitor', () => {
  let counts: Record<string, number> | Error;
  let adding: number;
  let warnings: unknown[];
  let incidents: string[];
  const operationalEvents: OperationalEvents = {
    raise: async (event: OperationalEvent) => void incidents.push(event.type),
    resolved: async (key: string) => void incidents.push(`resolved ${key}`),
  };

  const monitor = (limit = 10, metrics?: MetricsService) => {
    const config = { ingestBacklogLimit: limit } as AppConfig;
    const producer = {
      get adding() {
        return adding;
      },
      queue: {
        getJobCounts: jest.fn(async () => {
          if (counts instanceof Error) throw counts;
          return counts;
        }),
      },
    } as unknown as InboundEventProducer;
    return new BacklogMonitor(config, producer, operationalEvents, metrics);
  };

  beforeEach(() => {
    counts = { waiting: 0, prioritized: 0, delayed: 0 };
    adding = 0;
    warnings = [];
    incidents = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => void warnings.push(message));
  });
  afterEach(() => jest.restoreAllMocks());

  it('does not give back the room of jobs still being added when a measurement misses them', async () => {
    const m = monitor(5);
    expect(m.admit(1)).toBe(1);
    // Redis counts before that job's add has landed: it still takes its place under the limit.
    adding = 1;
    await m.refresh();
    expect(m.room()).toBe(4);
    expect(m.admit(10)).toBe(4);
    adding = 0;
    counts = { waiting: 5, prioritized: 0, delayed: 0 };
    await m.refresh();
    expect(m.room()).toBe(0);
  });

  it('admits events up to the limit, counting them until the next measurement', async () => {
    const m = monitor(10);
    counts = { waiting: 4, prioritized: 1, delayed: 2 };
    await m.refresh();
    expect(m.room()).toBe(3);
    expect(m.admit(2)).toBe(2);
    expect(m.admit(5)).toBe(1);
    expect(m.admit(1)).toBe(0);
    expect(m.state()).toMatchObject({ backlog: 10, limit: 10, degraded: true, holding: true });
  });

  it('logs one warning and raises one operational event on entering degraded mode, one of each on leaving', async () => {
    const m = monitor(5);
    counts = { waiting: 5, prioritized: 0, delayed: 0 };
    await m.refresh();
    await m.refresh();
    expect(m.degraded).toBe(true);
    expect(m.admit(3)).toBe(0);

    counts = { waiting: 0, prioritized: 0, delayed: 0 };
    await m.refresh();
    expect(m.degraded).toBe(true); // events are still held back in Postgres
    m.setHolding(false);
    expect(m.degraded).toBe(false);

    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ msg: expect.stringContaining('ingest degraded'), backlog: 5, limit: 5 });
    expect(warnings[1]).toMatchObject({
      msg: expect.stringContaining('ingest recovered'),
      degradedForMs: expect.any(Number),
    });
    expect(incidents).toEqual(['switchboard.ingest.degraded', 'resolved ingest.degraded']);
  });

  it('keeps the last figure when Redis does not answer', async () => {
    const m = monitor(10);
    counts = { waiting: 7, prioritized: 0, delayed: 0 };
    await m.refresh();
    counts = new Error('connection is closed');
    await m.refresh();
    expect(m.state().backlog).toBe(7);
  });

  it('exposes the gauges and the held-events counter', async () => {
    const metrics = new MetricsService();
    const m = monitor(2, metrics);
    m.admit(5);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^switchboard_ingest_backlog 2$/m);
    expect(text).toMatch(/^switchboard_ingest_backlog_limit 2$/m);
    expect(text).toMatch(/^switchboard_ingest_degraded 1$/m);
    expect(text).toMatch(/^switchboard_ingest_events_held_total 3$/m);
  });
});
