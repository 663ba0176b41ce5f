import request from 'supertest';
import { instagramEnvelope, messagingItem, sign } from './support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const POLICY_ERROR = { status: 400, body: { error: { code: 10, error_subcode: 2018278 } } };

/**
 * The value of one series in Prometheus text, e.g. `name{a="x",b="y"}`; undefined when absent. The series
 * matches when it has at least the given labels (other labels may be added without breaking this test).
 */
function sample(text: string, series: string): number | undefined {
  const [, name, labels = ''] = /^([^{]+)(?:\{(.*)\})?$/.exec(series) ?? [];
  const wanted = labels ? labels.split(',') : [];
  for (const line of text.split('\n')) {
    const match = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2] ? match[2].split(',') : [];
    if (wanted.every((label) => have.includes(label)) && (wanted.length > 0 || have.length === 0)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

describe('GET /metrics (Prometheus)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { DLQ_ALERT_THRESHOLD: '1' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string, signature: string | null = sign(body, TEST_APP_SECRET)) => {
    const req = request(t.url).post('/webhooks/instagram').set('content-type', 'application/json');
    return (signature ? req.set('x-hub-signature-256', signature) : req).send(body);
  };

  it('counts webhooks, processing, failures by category, dead letters, queue depth and Send API latency', async () => {
    const ok = instagramEnvelope([messagingItem({ mid: 'm_metrics_1', sender: 'metrics-1', text: 'hello' })]);
    await post(ok).expect(200);
    await post(ok).expect(200); // duplicate
    await post(ok, null).expect(401);
    await post(ok, sign(ok, 'wrong')).expect(401);
    t.graph.answerNext(POLICY_ERROR);
    await post(instagramEnvelope([messagingItem({ mid: 'm_metrics_2', sender: 'metrics-2', text: 'x' })])).expect(200);
    await waitFor(async () => {
      const { rows } = await t.db.pool.query(`SELECT 1 FROM inbound_events WHERE status IN ('processed', 'failed')`);
      return rows.length === 2;
    });

    const res = await request(t.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(sample(text, 'switchboard_webhooks_received_total{provider="instagram"}')).toBe(5);
    expect(sample(text, 'switchboard_webhooks_accepted_total{provider="instagram"}')).toBe(3);
    expect(sample(text, 'switchboard_webhooks_rejected_total{provider="instagram",reason="missing"}')).toBe(1);
    expect(sample(text, 'switchboard_webhooks_rejected_total{provider="instagram",reason="invalid"}')).toBe(1);
    expect(sample(text, 'switchboard_webhooks_duplicate_total{provider="instagram"}')).toBe(1);
    expect(sample(text, 'switchboard_events_received_total{provider="instagram"}')).toBe(2);
    expect(sample(text, 'switchboard_event_attempts_total{provider="instagram"}')).toBe(2);
    expect(sample(text, 'switchboard_event_failures_total{category="policy",final="true"}')).toBe(1);
    expect(
      sample(text, 'switchboard_event_processing_duration_seconds_count{kind="message",outcome="processed"}'),
    ).toBe(1);
    expect(sample(text, 'switchboard_event_processing_duration_seconds_count{kind="message",outcome="failed"}')).toBe(
      1,
    );
    expect(sample(text, 'switchboard_send_api_duration_seconds_count{status="200"}')).toBe(1);
    expect(sample(text, 'switchboard_send_api_duration_seconds_count{status="400"}')).toBe(1);
    expect(sample(text, 'switchboard_dead_letters_pending')).toBe(1);
    expect(sample(text, 'switchboard_dead_letters_alert')).toBe(1);
    expect(sample(text, 'switchboard_dead_letters_alert_threshold')).toBe(1);
    expect(sample(text, 'switchboard_queue_jobs{queue="inbound-events",state="waiting"}')).toBe(0);
    expect(sample(text, 'switchboard_queue_jobs{queue="inbound-events",state="completed"}')).toBe(1);
    expect(text).not.toContain('hello');

    // DLQ_ALERT_THRESHOLD=1 was crossed: one warning line, not one per check.
    await request(t.url).get('/metrics').expect(200);
    const warnings = t
      .logs()
      .split('\n')
      .filter((line) => line.includes('dead letters above the alert threshold'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, pending: 1, threshold: 1 });
  });

  it('is behind a bearer token when METRICS_TOKEN is set (each app has its own registry)', async () => {
    const guarded = await startTestApp({ env: { METRICS_TOKEN: 'metrics-secret-0123456789abcdefx' } });
    try {
      expect((await request(guarded.url).get('/metrics')).status).toBe(401);
      expect((await request(guarded.url).get('/metrics').set('authorization', 'Bearer nope')).status).toBe(401);
      const res = await request(guarded.url).get('/metrics').set('authorization', 'Bearer metrics-secret-0123456789abcdefx');
      expect(res.status).toBe(200);
      expect(sample(res.text, 'switchboard_webhooks_received_total{provider="instagram"}')).toBeUndefined();
    } finally {
      await guarded.close();
    }
  });

  it('documents every admin, audit and metrics route in the OpenAPI document at /docs', async () => {
    const res = await request(t.url).get('/docs-json');
    expect(res.status).toBe(200);
    const paths = Object.keys(res.body.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/admin/dead-letters',
        '/admin/dead-letters/{id}',
        '/admin/dead-letters/{id}/payload',
        '/admin/dead-letters/{id}/replay',
        '/admin/dead-letters/replay',
        '/admin/dead-letters/replays/{id}',
        '/admin/queues',
        '/admin/jobs/{queue}/{id}',
        '/admin/vip-senders',
        '/admin/vip-senders/{provider}/{senderId}',
        '/audit-logs',
        '/metrics',
      ]),
    );
    expect(res.body.paths['/admin/dead-letters'].get.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(['provider', 'category', 'status', 'source', 'from', 'to', 'cursor', 'limit']),
    );
    expect(res.body.components.schemas.BulkReplayBody.properties).toHaveProperty('dryRun');
    const errorRef = { $ref: '#/components/schemas/ErrorBody' };
    for (const code of ['400', '401', '403']) {
      expect(res.body.paths['/admin/queues'].get.responses[code].content['application/json'].schema).toEqual(errorRef);
    }
    expect(res.body.components.schemas.ErrorBody.required).toEqual(['statusCode', 'error', 'message', 'correlationId']);
  });
});
