import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_operational-events-key-0123456789';
const PUBLISHER = 'sb_publisher_operational-events-key-0123';
const STORM = 1000;

describe('operational events: once per incident, signed, to switchboard.* subscribers', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();
  let watcher: { id: string; secret: string };
  let legacy: { id: string; secret: string };
  let broken: { id: string };

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS,
        PUBLISHER_API_KEYS: PUBLISHER,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        OUTBOUND_RETRY_SCHEDULE: '0,0.05',
        OUTBOUND_BREAKER_THRESHOLD: '10',
        OUTBOUND_TIMEOUT_MS: '1000',
        DLQ_ALERT_THRESHOLD: '1',
      },
    });
    receiver.on('/broken-watcher', () => ({ status: 500 }));
    watcher = await createEndpoint('/watcher', ['switchboard.*']);
    legacy = await createEndpoint('/legacy', ['endpoint.disabled']);
    // Subscribed to operational events and failing every one: its own failures must raise none.
    broken = await createEndpoint('/broken-watcher', ['switchboard.*']);
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  const ops = { authorization: `Bearer ${OPS}` };
  const count = async (sql: string, params: unknown[] = []) =>
    ((await t.db.pool.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0) as number;

  async function createEndpoint(path: string, events: string[]) {
    const res = await request(t.url)
      .post('/endpoints')
      .set(ops)
      .send({ url: receiver.url(path), events });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string };
  }

  async function trigger(eventType: string, n: number) {
    let next = 0;
    const one = async () => {
      while (next < n) {
        next++;
        const res = await request(t.url)
          .post(`/events/${eventType}`)
          .set({ authorization: `Bearer ${PUBLISHER}` })
          .send({ data: { n: next } });
        expect(res.status).toBe(202);
      }
    };
    await Promise.all(Array.from({ length: Math.min(n, 16) }, one));
  }

  /** Every delivery has ended (nothing left that could raise another event). */
  const settled = () =>
    waitFor(
      async () => (await count(`SELECT count(*)::int AS n FROM outbound_deliveries WHERE status = 'pending'`)) === 0,
      {
        timeoutMs: 30_000,
        message: 'every delivery finished',
      },
    );

  const THRESHOLD = 'switchboard.dead_letters.threshold_exceeded';
  /** What a subscriber received, verified; the dead-letter threshold (checked on a timer) is the last test's. */
  const operational = (path: string, secret: string, withThreshold = false) =>
    receiver
      .at(path)
      .map((req) => verifyDelivery(secret, req))
      .filter((event) => withThreshold || event.type !== THRESHOLD);

  it('an exhausted delivery produces exactly one signed switchboard.delivery.exhausted', async () => {
    receiver.on('/exhausts', () => ({ status: 500 }));
    const endpoint = await createEndpoint('/exhausts', ['exhaust.me']);
    await trigger('exhaust.me', 1);
    await waitFor(() =>
      operational('/watcher', watcher.secret).some((e) => e.type === 'switchboard.delivery.exhausted'),
    );
    await settled();
    const events = operational('/watcher', watcher.secret);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'switchboard.delivery.exhausted',
      data: {
        endpointId: endpoint.id,
        eventType: 'exhaust.me',
        category: 'server_error',
        attempts: 2,
        responseCode: 500,
      },
    });
    expect(Object.keys(events[0].data).sort()).toEqual(
      ['attempts', 'category', 'deliveryId', 'endpointId', 'eventId', 'eventType', 'occurredAt', 'responseCode'].sort(),
    );
  });

  it('a storm of 1,000 failing deliveries to one endpoint produces one switchboard.endpoint.disabled', async () => {
    receiver.on('/storm', () => ({ status: 500 }));
    const endpoint = await createEndpoint('/storm', ['storm.test']);
    const before = receiver.at('/watcher').length;
    await trigger('storm.test', STORM);
    await waitFor(async () => {
      const res = await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops);
      return res.body.status === 'disabled';
    });
    await settled();
    const events = operational('/watcher', watcher.secret).slice(before);
    const disabled = events.filter((e) => e.type === 'switchboard.endpoint.disabled');
    expect(disabled).toHaveLength(1);
    expect(disabled[0].data).toMatchObject({
      endpointId: endpoint.id,
      consecutiveFailures: 10,
      lastCategory: 'server_error',
    });
    // At most one exhausted delivery a minute for the endpoint, whatever the storm.
    expect(events.filter((e) => e.type === 'switchboard.delivery.exhausted').length).toBeLessThanOrEqual(1);
    expect(events.length).toBeLessThanOrEqual(2);

    // Per-endpoint delivery metrics: outcomes and latency.
    const scrape = (await request(t.url).get('/metrics')).text;
    const failures = new RegExp(
      `^switchboard_outbound_deliveries_total\\{endpoint="${endpoint.id}",outcome="server_error"\\} (\\d+)$`,
      'm',
    );
    expect(Number(failures.exec(scrape)?.[1])).toBeGreaterThanOrEqual(10);
    expect(scrape).toContain(
      `switchboard_outbound_delivery_duration_seconds_count{endpoint="${endpoint.id}",outcome="failure"}`,
    );

    // A subscriber of the old type still gets it under that type (and a `switchboard.*` one never twice).
    const old = operational('/legacy', legacy.secret);
    expect(old.map((e) => e.type)).toEqual(['endpoint.disabled']);
    expect(old[0].data).toMatchObject({ endpointId: endpoint.id });
  });

  it('a failing subscriber of operational events raises none itself (no loop)', async () => {
    await settled();
    // Its deliveries exhausted (dead-lettered), and none of those raised an operational event.
    expect(
      await count(`SELECT count(*)::int AS n FROM dead_letters WHERE endpoint_id = $1`, [broken.id]),
    ).toBeGreaterThan(0);
    const published = await count(
      `SELECT count(*)::int AS n FROM outbound_events WHERE event_type LIKE 'switchboard.%' AND publisher = 'system'`,
    );
    expect(published).toBe(receiver.at('/watcher').length);
  });

  it('pending dead letters crossing DLQ_ALERT_THRESHOLD produce one threshold event, however often it is checked', async () => {
    for (let i = 0; i < 3; i++) expect((await request(t.url).get('/metrics')).status).toBe(200);
    await waitFor(() => operational('/watcher', watcher.secret, true).some((e) => e.type === THRESHOLD));
    await request(t.url).get('/metrics');
    await settled();
    const events = operational('/watcher', watcher.secret, true).filter((e) => e.type === THRESHOLD);
    expect(events).toHaveLength(1);
    expect(events[0].data).toEqual({ pending: expect.any(Number), threshold: 1, occurredAt: expect.any(String) });
    expect(await count(`SELECT count(*)::int AS n FROM outbound_events WHERE event_type = $1`, [THRESHOLD])).toBe(1);
  });
});
