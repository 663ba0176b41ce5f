import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { postWebhook, startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver';

const OPS = 'sb_ops_outbound-test-key-0123456789abcdef';
const PUBLISHER = 'sb_publisher_outbound-test-key-0123456789abcdef';
const BREAKER_THRESHOLD = 4;

describe('outbound webhooks (real receivers on loopback, verified with standardwebhooks)', () => {
  let t: TestApp;
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: {
        OPS_API_KEYS: OPS,
        PUBLISHER_API_KEYS: PUBLISHER,
        OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
        OUTBOUND_RETRY_SCHEDULE: '0,0.05,0.1',
        OUTBOUND_BREAKER_THRESHOLD: String(BREAKER_THRESHOLD),
        // Room for the 1.2 MB body nested 200,000 deep: the nesting limit must answer it, not the size limit.
        ADMIN_MAX_BODY_BYTES: String(4 * 1024 * 1024),
        // Not shorter: 122 endpoints answered at once on a loaded 2-core machine took over 1 s, and a timed-out
        // delivery is retried (at least once, by design), which the batch case counts as a second receipt.
        OUTBOUND_TIMEOUT_MS: '5000',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await receiver.stop();
  });

  const ops = () => ({ authorization: `Bearer ${OPS}` });
  const rows = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await t.db.pool.query(sql, params)).rows as T[];

  async function createEndpoint(path: string, events: string[], extra: Record<string, unknown> = {}) {
    const res = await request(t.url)
      .post('/endpoints')
      .set(ops())
      .send({ url: receiver.url(path), events, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; status: string };
  }

  async function trigger(eventType: string, body: Record<string, unknown>, idempotencyKey?: string) {
    const req = request(t.url)
      .post(`/events/${eventType}`)
      .set({ authorization: `Bearer ${PUBLISHER}` });
    const res = await (idempotencyKey ? req.set('idempotency-key', idempotencyKey) : req).send(body);
    expect(res.status).toBe(202);
    return res.body as { eventId: string; endpointCount: number };
  }

  describe('endpoints', () => {
    it('needs an ops key: 401 without a key, 403 for a publisher key', async () => {
      const body = { url: receiver.url('/auth'), events: ['*'] };
      expect((await request(t.url).post('/endpoints').send(body)).status).toBe(401);
      const publisher = await request(t.url)
        .post('/endpoints')
        .set({ authorization: `Bearer ${PUBLISHER}` })
        .send(body);
      expect(publisher.status).toBe(403);
    });

    it('returns a whsec_ secret once, stores it sealed, and validates the body', async () => {
      const created = await createEndpoint('/crud', ['crud.created'], { description: 'crm', timeoutMs: 500 });
      expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      expect(Buffer.from(created.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);
      expect(created.status).toBe('active');

      const fetched = await request(t.url).get(`/endpoints/${created.id}`).set(ops());
      expect(fetched.status).toBe(200);
      expect(fetched.body).toMatchObject({
        id: created.id,
        events: ['crud.created'],
        status: 'active',
        timeoutMs: 500,
      });
      expect(fetched.body.secret).toBeUndefined();
      const [row] = await rows<{ secret_sealed: Buffer }>(
        `SELECT secret_sealed FROM outbound_endpoints WHERE id = $1`,
        [created.id],
      );
      expect(row.secret_sealed.toString('latin1')).not.toContain(created.secret.slice(6, 20));

      const patched = await request(t.url)
        .patch(`/endpoints/${created.id}`)
        .set(ops())
        .send({ events: ['crud.*'], rateLimitPerSecond: 5 });
      expect(patched.body).toMatchObject({ events: ['crud.*'], rateLimitPerSecond: 5 });

      const disabled = await request(t.url).post(`/endpoints/${created.id}/disable`).set(ops()).send({ reason: 'x' });
      expect(disabled.body).toMatchObject({ status: 'disabled', disabledReason: 'x' });

      const invalid = await request(t.url).post('/endpoints').set(ops()).send({ url: 'ftp://x', events: [] });
      expect(invalid.status).toBe(400);
      for (const headers of [
        { 'webhook-signature': 'v1,forged' },
        { 'x-ok': 'a\r\nx-injected: 1' },
        { 'bad name': 'x' },
      ]) {
        const refused = await request(t.url)
          .post('/endpoints')
          .set(ops())
          .send({ url: receiver.url('/h'), events: ['h.x'], headers });
        expect(refused.status).toBe(400);
      }

      expect((await request(t.url).delete(`/endpoints/${created.id}`).set(ops())).status).toBe(204);
      expect((await request(t.url).get(`/endpoints/${created.id}`).set(ops())).status).toBe(404);
    });
  });

  it('fans one event out to every matching endpoint (exact, "*", "prefix.*", tenant) and each delivery verifies', async () => {
    const all = await Promise.all(Array.from({ length: 10 }, (_, i) => createEndpoint(`/fan/all/${i}`, ['*'])));
    const exact = await Promise.all(
      Array.from({ length: 10 }, (_, i) => createEndpoint(`/fan/exact/${i}`, ['shop.order.created'])),
    );
    const prefix = await Promise.all(
      Array.from({ length: 5 }, (_, i) => createEndpoint(`/fan/prefix/${i}`, ['shop.*'])),
    );
    const other = await Promise.all(
      Array.from({ length: 5 }, (_, i) => createEndpoint(`/fan/other/${i}`, ['shop.paid'])),
    );
    const tenant = await createEndpoint('/fan/tenant', ['shop.order.created'], { tenantId: 'clinic-b' });
    const off = await createEndpoint('/fan/off', ['*']);
    await request(t.url).post(`/endpoints/${off.id}/disable`).set(ops()).send({});

    const first = await trigger('shop.order.created', { data: { orderId: 'o-1', total: 12.5 } });
    expect(first.endpointCount).toBe(25);
    const second = await trigger('shop.order.created', { data: { orderId: 'o-2' }, tenantId: 'clinic-b' });
    expect(second.endpointCount).toBe(26);

    const subscribed = [...all, ...exact, ...prefix].map((endpoint, i) => ({
      endpoint,
      path: i < 10 ? `/fan/all/${i}` : i < 20 ? `/fan/exact/${i - 10}` : `/fan/prefix/${i - 20}`,
    }));
    await waitFor(() => receiver.received.filter((r) => r.path.startsWith('/fan/')).length >= 51, {
      message: '51 fan-out deliveries',
    });
    for (const { endpoint, path } of subscribed) {
      const got = receiver.at(path);
      expect(got).toHaveLength(2);
      const bodies = got.map((r) => verifyDelivery(endpoint.secret, r));
      expect(bodies.map((b) => b.data.orderId).sort()).toEqual(['o-1', 'o-2']);
      expect(bodies[0].type).toBe('shop.order.created');
      expect(new Date(bodies[0].timestamp).getTime()).not.toBeNaN();
      expect(got[0].headers['webhook-id']).toMatch(new RegExp(`^(${first.eventId}|${second.eventId})$`));
    }
    const tenantGot = receiver.at('/fan/tenant');
    expect(tenantGot).toHaveLength(1);
    expect(verifyDelivery(tenant.secret, tenantGot[0]).data.orderId).toBe('o-2');
    expect(other.flatMap((_, i) => receiver.at(`/fan/other/${i}`))).toHaveLength(0);
    expect(receiver.at('/fan/off')).toHaveLength(0);

    const event = await waitFor(async () => {
      const res = await request(t.url).get(`/events/${first.eventId}`).set(ops());
      return res.body.deliveries?.succeeded === 25 ? res.body : undefined;
    });
    expect(event).toMatchObject({ type: 'shop.order.created', endpointCount: 25, deliveries: { failed: 0 } });

    // The "*" endpoints would receive every later test's events.
    await Promise.all([...all, off].map((e) => request(t.url).delete(`/endpoints/${e.id}`).set(ops())));
  });

  it('sends an event to 122 endpoints in batches: one endpoint retried, one dead-lettered, every delivery verified', async () => {
    receiver.on('/batch/flaky', (_, n) => (n === 1 ? { status: 500 } : { status: 200 }));
    receiver.on('/batch/bad', () => ({ status: 400 }));
    const healthy = [];
    for (let i = 0; i < 120; i += 20) {
      healthy.push(
        ...(await Promise.all(
          Array.from({ length: 20 }, (_, j) => createEndpoint(`/batch/ok/${i + j}`, ['batch.test'])),
        )),
      );
    }
    const flaky = await createEndpoint('/batch/flaky', ['batch.test']);
    const bad = await createEndpoint('/batch/bad', ['batch.test']);
    const { eventId, endpointCount } = await trigger('batch.test', { data: { batch: true } });
    expect(endpointCount).toBe(122);

    const event = await waitFor(async () => {
      const res = await request(t.url).get(`/events/${eventId}`).set(ops());
      return res.body.deliveries?.pending === 0 ? res.body : undefined;
    });
    expect(event.deliveries).toMatchObject({ succeeded: 121, failed: 1 });
    healthy.forEach((endpoint, i) => {
      const got = receiver.at(`/batch/ok/${i}`);
      expect(got).toHaveLength(1);
      expect(verifyDelivery(endpoint.secret, got[0]).data).toEqual({ batch: true });
      expect(got[0].headers['webhook-id']).toBe(eventId);
    });
    const flakyGot = receiver.at('/batch/flaky');
    expect(flakyGot).toHaveLength(2);
    flakyGot.forEach((r) => expect(verifyDelivery(flaky.secret, r).data).toEqual({ batch: true }));
    expect(new Set(flakyGot.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));
    const badGot = receiver.at('/batch/bad');
    expect(badGot).toHaveLength(3);
    badGot.forEach((r) => verifyDelivery(bad.secret, r));
    const letters = await rows(`SELECT category, attempts FROM dead_letters WHERE endpoint_id = $1`, [bad.id]);
    expect(letters).toEqual([{ category: 'client_error', attempts: 3 }]);
    await Promise.all([...healthy, flaky, bad].map((e) => request(t.url).delete(`/endpoints/${e.id}`).set(ops())));
  });

  it('answers a repeated trigger with the same Idempotency-Key with the first event, delivered once', async () => {
    const endpoint = await createEndpoint('/idem', ['idem.test']);
    const first = await trigger('idem.test', { data: { n: 1 } }, 'key-123');
    const again = await trigger('idem.test', { data: { n: 2 } }, 'key-123');
    expect(again).toEqual(first);
    await waitFor(() => receiver.at('/idem').length >= 1);
    const other = await trigger('idem.test', { data: { n: 3 } }, 'key-456');
    expect(other.eventId).not.toBe(first.eventId);
    await waitFor(() => receiver.at('/idem').length >= 2);
    const bodies = receiver.at('/idem').map((r) => verifyDelivery(endpoint.secret, r).data.n);
    expect(bodies.sort()).toEqual([1, 3]);
    expect(await rows(`SELECT 1 FROM outbound_events WHERE idempotency_key = 'key-123'`)).toHaveLength(1);
  });

  it('retries a failing delivery on the schedule with the same webhook-id, then succeeds; every attempt is stored', async () => {
    receiver.on('/retry', (_, n) => (n <= 2 ? { status: 500, body: 'temporarily broken' } : { status: 204 }));
    const endpoint = await createEndpoint('/retry', ['retry.test'], { headers: { 'X-Api-Key': 'k-123' } });
    const { eventId } = await trigger('retry.test', { data: { ok: true } });
    await waitFor(() => receiver.at('/retry').length >= 3);
    const got = receiver.at('/retry');
    got.forEach((r) => verifyDelivery(endpoint.secret, r));
    expect(got.map((r) => r.headers['x-api-key'])).toEqual(['k-123', 'k-123', 'k-123']);
    expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([eventId]));

    const attempts = await waitFor(async () => {
      const res = await request(t.url).get(`/endpoints/${endpoint.id}/attempts`).set(ops());
      return res.body.items?.length === 3 ? res.body.items : undefined;
    });
    expect(attempts.map((a: { status: string }) => a.status)).toEqual(['success', 'failure', 'failure']);
    expect(attempts[1]).toMatchObject({
      category: 'server_error',
      responseCode: 500,
      responseBytes: 'temporarily broken'.length,
      responseKept: true,
    });
    const answer = await request(t.url)
      .get(`/endpoints/${endpoint.id}/attempts/${attempts[1].id}/response`)
      .query({ reason: 'why does it fail' })
      .set(ops());
    expect(answer.body).toMatchObject({ responseCode: 500, body: 'temporarily broken' });
    expect(attempts[0]).toMatchObject({ responseCode: 204, attempt: 3 });
    // Success counters are written a few times a second.
    const stats = await waitFor(async () => {
      const res = await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops());
      return res.body.stats?.deliveries === 3 ? res.body.stats : undefined;
    });
    expect(stats).toMatchObject({ deliveries: 3, failures: 2, consecutiveFailures: 0 });
    expect(stats.lastSuccessAt).not.toBeNull();
  });

  it('dead-letters an exhausted delivery with an audit entry, and recover {since} queues it again', async () => {
    let healthy = false;
    receiver.on('/exhaust', () => (healthy ? { status: 200 } : { status: 400, body: 'bad' }));
    const since = new Date(Date.now() - 1000).toISOString();
    const endpoint = await createEndpoint('/exhaust', ['exhaust.test']);
    await trigger('exhaust.test', { data: {} });
    const [letter] = await waitFor(() =>
      rows<{ category: string; attempts: number; delivery_id: string; status: string; source: string }>(
        `SELECT * FROM dead_letters WHERE endpoint_id = $1`,
        [endpoint.id],
      ).then((r) => (r.length ? r : undefined)),
    );
    expect(letter).toMatchObject({ source: 'outbound', category: 'client_error', attempts: 3, status: 'pending' });
    expect(receiver.at('/exhaust')).toHaveLength(3);
    await waitFor(() =>
      rows(
        `SELECT 1 FROM audit_log WHERE action = 'outbound.delivery_dead_lettered' AND metadata->>'endpointId' = $1`,
        [endpoint.id],
      ).then((r) => r.length === 1),
    );

    healthy = true;
    // Contract (Operations): recover is a durable operation, answered 202 {operationId, …}.
    const recovered = await request(t.url).post(`/endpoints/${endpoint.id}/recover`).set(ops()).send({ since });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toMatchObject({ kind: 'deliveries.retry', status: 'running', total: 1 });
    const operation = await waitFor(async () => {
      const res = await request(t.url).get(`/admin/operations/${recovered.body.operationId}`).set(ops());
      return res.body.status === 'completed' ? res.body : null;
    });
    expect(operation).toMatchObject({ total: 1, done: 1, failed: 0, actor: 'env:ops:1' });
    await waitFor(() => receiver.at('/exhaust').length === 4);
    await waitFor(() =>
      rows<{ status: string }>(`SELECT status FROM outbound_deliveries WHERE id = $1`, [letter.delivery_id]).then(
        (r) => r[0]?.status === 'succeeded',
      ),
    );
    expect(
      (await rows<{ status: string }>(`SELECT status FROM dead_letters WHERE endpoint_id = $1`, [endpoint.id]))[0]
        .status,
    ).toBe('replayed');

    const retried = await request(t.url)
      .post(`/endpoints/${endpoint.id}/deliveries/${letter.delivery_id}/retry`)
      .set(ops());
    expect(retried.status).toBe(202);
    await waitFor(() => receiver.at('/exhaust').length === 5);
  });

  it('retries deliveries in bulk by endpoint, status, event type and time range (dryRun counts only)', async () => {
    let healthy = false;
    receiver.on('/bulk-retry', () => (healthy ? { status: 200 } : { status: 422 }));
    const endpoint = await createEndpoint('/bulk-retry', ['bulk.retry.*']);
    const from = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < 3; i++) await trigger('bulk.retry.a', { data: { i } });
    await trigger('bulk.retry.b', { data: {} });
    await waitFor(() =>
      rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbound_deliveries WHERE endpoint_id = $1 AND status = 'failed'`,
        [endpoint.id],
      ).then((r) => r[0].n === 4),
    );
    const retry = (body: Record<string, unknown>) =>
      request(t.url).post('/admin/deliveries/retry').set(ops()).send(body);
    const dry = await retry({ endpointId: endpoint.id, eventType: 'bulk.retry.a', from, dryRun: true });
    expect(dry.status).toBe(202);
    expect(dry.body).toEqual({ dryRun: true, matched: 3 });
    expect((await retry({ endpointId: endpoint.id, status: 'succeeded', dryRun: true })).body.matched).toBe(0);
    expect((await retry({ endpointId: endpoint.id, to: from, dryRun: true })).body.matched).toBe(0);
    expect((await retry({ status: 'pending' })).status).toBe(400);

    healthy = true;
    // Twelve failures in a row tripped its breaker.
    expect((await request(t.url).post(`/endpoints/${endpoint.id}/enable`).set(ops())).status).toBe(200);
    const started = await retry({ endpointId: endpoint.id, eventType: 'bulk.retry.a', from });
    expect(started.body).toMatchObject({ dryRun: false, matched: 3, status: 'running' });
    const done = await waitFor(async () => {
      const res = await request(t.url).get(`/admin/operations/${started.body.operationId}`).set(ops());
      return res.body.status === 'completed' ? res.body : null;
    });
    expect(done).toMatchObject({ kind: 'deliveries.retry', total: 3, done: 3 });
    await waitFor(() =>
      rows<{ status: string; n: number }>(
        `SELECT ev.event_type || '/' || d.status AS status, count(*)::int AS n
           FROM outbound_deliveries d JOIN outbound_events ev ON ev.id = d.event_id
          WHERE d.endpoint_id = $1 GROUP BY 1 ORDER BY 1`,
        [endpoint.id],
      ).then(
        (r) =>
          JSON.stringify(r) ===
          JSON.stringify([
            { status: 'bulk.retry.a/succeeded', n: 3 },
            { status: 'bulk.retry.b/failed', n: 1 },
          ]),
      ),
    );
  });

  it('disables an endpoint that answers 410 at once, and tells endpoint.disabled subscribers', async () => {
    const watcher = await createEndpoint('/watch-410', ['endpoint.disabled']);
    receiver.on('/gone', () => ({ status: 410 }));
    const endpoint = await createEndpoint('/gone', ['gone.test']);
    await trigger('gone.test', { data: {} });
    const disabled = await waitFor(async () => {
      const res = await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops());
      return res.body.status === 'disabled' ? res.body : undefined;
    });
    expect(disabled.disabledReason).toMatch(/410/);
    expect(receiver.at('/gone')).toHaveLength(1);
    const [notice] = await waitFor(() => (receiver.at('/watch-410').length ? receiver.at('/watch-410') : undefined));
    const body = verifyDelivery(watcher.secret, notice);
    expect(body).toMatchObject({ type: 'endpoint.disabled', data: { endpointId: endpoint.id } });
    await request(t.url).delete(`/endpoints/${watcher.id}`).set(ops());
  });

  it('holds an event until deliverAt', async () => {
    await createEndpoint('/later', ['later.test']);
    const triggeredAt = Date.now();
    const deliverAt = new Date(triggeredAt + 1500).toISOString();
    const answer = await trigger('later.test', { data: {}, deliverAt, priority: 'urgent' });
    expect(answer.endpointCount).toBe(1);
    const [got] = await waitFor(() => (receiver.at('/later').length ? receiver.at('/later') : undefined));
    expect(got.at - triggeredAt).toBeGreaterThanOrEqual(1400);
  });

  it('honours Retry-After on 429 (the next attempt waits for it, not for the shorter schedule)', async () => {
    receiver.on('/throttle', (_, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const endpoint = await createEndpoint('/throttle', ['throttle.test']);
    await trigger('throttle.test', { data: {} });
    await waitFor(() => receiver.at('/throttle').length >= 2);
    const [first, second] = receiver.at('/throttle');
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    const attempts = (await request(t.url).get(`/endpoints/${endpoint.id}/attempts`).set(ops())).body.items;
    expect(attempts.at(-1)).toMatchObject({ category: 'throttled', responseCode: 429 });
  });

  it('trips the circuit breaker after consecutive failures (reason, audit, endpoint.disabled) and re-enables by API', async () => {
    const watcher = await createEndpoint('/watch-breaker', ['endpoint.disabled']);
    receiver.on('/broken', () => ({ status: 503 }));
    const endpoint = await createEndpoint('/broken', ['broken.test']);
    await trigger('broken.test', { data: { n: 1 } });
    await trigger('broken.test', { data: { n: 2 } });
    const disabled = await waitFor(async () => {
      const res = await request(t.url).get(`/endpoints/${endpoint.id}`).set(ops());
      return res.body.status === 'disabled' ? res.body : undefined;
    });
    expect(disabled.disabledReason).toMatch(/circuit breaker/);
    expect(disabled.stats.consecutiveFailures).toBeGreaterThanOrEqual(BREAKER_THRESHOLD);
    await waitFor(() =>
      rows(`SELECT 1 FROM audit_log WHERE action = 'outbound.endpoint_disabled' AND metadata->>'endpointId' = $1`, [
        endpoint.id,
      ]).then((r) => r.length === 1),
    );
    const [notice] = await waitFor(() =>
      receiver.at('/watch-breaker').length ? receiver.at('/watch-breaker') : undefined,
    );
    expect(verifyDelivery(watcher.secret, notice).data).toMatchObject({ endpointId: endpoint.id });

    const enabled = await request(t.url).post(`/endpoints/${endpoint.id}/enable`).set(ops());
    expect(enabled.body).toMatchObject({ status: 'active', disabledReason: null, stats: { consecutiveFailures: 0 } });
    await request(t.url).delete(`/endpoints/${watcher.id}`).set(ops());
  });

  it('signs with the old and the new secret during a rotation; both verify', async () => {
    const endpoint = await createEndpoint('/rotate', ['rotate.test'], { headers: { 'X-Tenant': 'before' } });
    // A delivery before the rotation: the worker has the old secret and headers opened already.
    await trigger('rotate.test', { data: { x: 0 } });
    const [before] = await waitFor(() => (receiver.at('/rotate').length ? receiver.at('/rotate') : undefined));
    expect(verifyDelivery(endpoint.secret, before).data).toEqual({ x: 0 });
    expect(before.headers['x-tenant']).toBe('before');
    // A PATCH alone reaches the next delivery too (the worker opens the endpoint's new version).
    await request(t.url)
      .patch(`/endpoints/${endpoint.id}`)
      .set(ops())
      .send({ headers: { 'X-Tenant': 'after' } });
    await trigger('rotate.test', { data: { x: 0.5 } });
    const [, patched] = await waitFor(() => (receiver.at('/rotate').length >= 2 ? receiver.at('/rotate') : undefined));
    expect(patched.headers['x-tenant']).toBe('after');
    expect(String(patched.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyDelivery(endpoint.secret, patched).data).toEqual({ x: 0.5 });
    const rotated = await request(t.url).post(`/endpoints/${endpoint.id}/rotate-secret`).set(ops());
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    await trigger('rotate.test', { data: { x: 1 } });
    const [, , got] = await waitFor(() => (receiver.at('/rotate').length >= 3 ? receiver.at('/rotate') : undefined));
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(got.headers['x-tenant']).toBe('after');
    expect(verifyDelivery(endpoint.secret, got).data).toEqual({ x: 1 });
    expect(verifyDelivery(rotated.body.secret, got).data).toEqual({ x: 1 });
    expect(() => verifyDelivery(`whsec_${Buffer.alloc(24, 7).toString('base64')}`, got)).toThrow();
    expect(() => new Webhook(endpoint.secret).verify(got.body + ' ', got.headers as Record<string, string>)).toThrow();
  });

  it('holds an endpoint to its rate limit across the queue (overshoot < 5 %), delaying rather than failing', async () => {
    const limit = 20;
    const endpoint = await createEndpoint('/limited', ['limited.test'], { rateLimitPerSecond: limit });
    const count = 50;
    await Promise.all(Array.from({ length: count }, (_, i) => trigger('limited.test', { data: { i } })));
    await waitFor(() => receiver.at('/limited').length >= count, { timeoutMs: 20_000 });
    const times = receiver.at('/limited').map((r) => r.at);
    const spanSeconds = (times[times.length - 1] - times[0]) / 1000;
    const observed = (count - 1) / spanSeconds;
    const overshoot = observed / limit - 1;
    expect(overshoot).toBeLessThan(0.05);
    let worstWindow = 0;
    for (let i = 0; i < times.length; i++) {
      worstWindow = Math.max(worstWindow, times.filter((at) => at >= times[i] && at < times[i] + 1000).length);
    }
    expect(worstWindow).toBeLessThanOrEqual(limit + 1);
    // The worker records a success just after the receiver has answered: wait for every delivery's record,
    // then count the attempts. A wait for the limit that had used an attempt would show here as more than one.
    await waitFor(() =>
      rows<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbound_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'`,
        [endpoint.id],
      ).then((r) => r[0].n === count),
    );
    const attempts = await rows<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbound_attempts WHERE endpoint_id = $1`,
      [endpoint.id],
    );
    expect(attempts[0].n).toBe(count);
  });

  it('keeps a timing-out endpoint to its concurrency cap while healthy endpoints are served', async () => {
    receiver.on('/dead', () => ({ status: 200, delayMs: 5000 }));
    const dead = await createEndpoint('/dead', ['fair.test'], { timeoutMs: 400, maxConcurrency: 2 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => createEndpoint(`/healthy/${i}`, ['fair.test'])));
    const started = Date.now();
    await Promise.all(Array.from({ length: 15 }, (_, i) => trigger('fair.test', { data: { i } })));
    await waitFor(() => receiver.received.filter((r) => r.path.startsWith('/healthy/')).length >= 150, {
      message: '150 healthy deliveries',
    });
    const healthySeconds = (Date.now() - started) / 1000;
    // Never more than its cap in flight, and the healthy ones were not held behind its timeouts.
    expect(receiver.maxConcurrent('/dead')).toBeLessThanOrEqual(2);
    expect(healthySeconds).toBeLessThan(5);
    await request(t.url).post(`/endpoints/${dead.id}/disable`).set(ops()).send({});
  });

  it('publishes instagram.message.received (ids only, never the text) for each processed Instagram message', async () => {
    const endpoint = await createEndpoint('/bridge', ['instagram.message.received']);
    const body = instagramEnvelope([
      messagingItem({ mid: 'm_bridge_1', sender: 'bridge-user', text: 'my private words' }),
    ]);
    const res = await request(t.url)
      .post('/webhooks/instagram')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
    expect(res.status).toBe(200);
    const [got] = await waitFor(() => (receiver.at('/bridge').length ? receiver.at('/bridge') : undefined));
    const delivered = verifyDelivery(endpoint.secret, got);
    expect(delivered.type).toBe('instagram.message.received');
    expect(Object.keys(delivered.data).sort()).toEqual([
      'accountId',
      'conversationId',
      'eventId',
      'occurredAt',
      'senderId',
    ]);
    expect(delivered.data.senderId).toBe('bridge-user');
    expect(got.body).not.toContain('private words');
  });

  it('publishes one instagram.message.received per message of a batch to every subscriber, sharing statements', async () => {
    const named = await createEndpoint('/bridge-batch/named', ['instagram.message.received']);
    const prefixed = await createEndpoint('/bridge-batch/prefixed', ['instagram.*']);
    const mids = Array.from({ length: 30 }, (_, i) => `m_bridge_batch_${i}`);
    const body = instagramEnvelope(
      mids.map((mid, i) => messagingItem({ mid, sender: `bridge-batch-${i}`, text: 'private batch words' })),
    );
    expect((await postWebhook(t, body)).status).toBe(200);

    for (const [endpoint, path] of [
      [named, '/bridge-batch/named'],
      [prefixed, '/bridge-batch/prefixed'],
    ] as const) {
      const got = await waitFor(() => (receiver.at(path).length >= 30 ? receiver.at(path) : undefined), {
        message: `30 deliveries at ${path}`,
      });
      const delivered = got.map((one) => verifyDelivery(endpoint.secret, one));
      const senders = delivered.map((one) => one.data.senderId as string).sort();
      expect(senders).toEqual(mids.map((_, i) => `bridge-batch-${i}`).sort());
      expect(got.every((one) => !one.body.includes('private batch words'))).toBe(true);
    }
    const events = await rows<{ n: number; dispatched: number; audited: number }>(
      `SELECT count(*)::int AS n, count(dispatched_at)::int AS dispatched,
              (SELECT count(*)::int FROM audit_log a WHERE a.action = 'outbound.event_triggered'
                  AND a.event_id = ANY(array_agg(o.id))) AS audited
         FROM outbound_events o
         JOIN inbound_events e ON o.idempotency_key = 'instagram.message.received:' || e.id
        WHERE e.meta_message_id LIKE 'm_bridge_batch_%'`,
    );
    expect(events).toEqual([{ n: 30, dispatched: 30, audited: 30 }]);
    // Once per message and subscriber.
    expect(receiver.at('/bridge-batch/named')).toHaveLength(30);
    expect(receiver.at('/bridge-batch/prefixed')).toHaveLength(30);
  });

  it('refuses publishers forging Switchboard event types and unknown events', async () => {
    const forged = await request(t.url)
      .post('/events/endpoint.disabled')
      .set({ authorization: `Bearer ${PUBLISHER}` })
      .send({ data: {} });
    expect(forged.status).toBe(400);
    expect((await request(t.url).get(`/events/00000000-0000-7000-8000-000000000000`).set(ops())).status).toBe(404);
  });

  it('refuses data nested 200,000 deep with 400 and a clear message; 30 levels are published', async () => {
    const post = (data: string) =>
      request(t.url)
        .post('/events/order.nested')
        .set({ authorization: `Bearer ${PUBLISHER}`, 'content-type': 'application/json' })
        .send(`{"data":${data}}`);
    const deep = await post(`${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`);
    expect(deep.status).toBe(400);
    expect(deep.body.message).toMatch(/nests deeper than 64 levels/);
    const arrays = await post(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    expect(arrays.status).toBe(400);
    // Brackets inside strings are text, not nesting.
    const fine = await post(`${'{"a":'.repeat(30)}"${'['.repeat(500)}"${'}'.repeat(30)}`);
    expect(fine.status).toBe(202);
  });
});
