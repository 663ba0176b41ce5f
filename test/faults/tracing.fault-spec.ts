import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { instagramEnvelope, messagingItem, sign } from '../support/meta-payloads';
import { startTestApp, TEST_APP_SECRET, TestApp } from '../support/test-app';
import { waitFor } from '../support/wait';
import { WebhookReceiver } from '../support/webhook-receiver';
import { ApiProcess, killAndWait, startApiProcess } from './support';

const OPS = 'sb_ops_tracing-test-key-0123456789abcdef';
const MARKER = 'PRIVACY-MARKER-7f3a9c1e';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** An OTLP/HTTP collector on loopback: keeps every byte it is sent. */
class FakeCollector {
  readonly bodies: Buffer[] = [];
  private server?: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  spans(): OtlpSpan[] {
    return this.bodies.flatMap((body) => {
      const parsed = JSON.parse(body.toString('utf8')) as {
        resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
      };
      return parsed.resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans));
    });
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value ? Object.values(value)[0] : undefined;
};

describe('OpenTelemetry: one trace from the webhook to the outbound delivery, ids only', () => {
  let t: TestApp;
  let api: ApiProcess | undefined;
  const collector = new FakeCollector();
  const receiver = new WebhookReceiver();

  beforeAll(async () => {
    const collectorUrl = await collector.start();
    await receiver.start();
    // The database, Graph fake and queue prefix; the traced process is the compiled API with its workers.
    t = await startTestApp({ env: { WORKERS_ENABLED: 'false' } });
    api = await startApiProcess({
      WORKERS_ENABLED: 'true',
      OPS_API_KEYS: OPS,
      OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
      OTEL_SERVICE_NAME: 'switchboard-test',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await killAndWait(api, 'SIGTERM');
    await t?.close();
    await receiver.stop();
    await collector.stop();
  });

  it('links the request, its job, the Send API call and the delivery; the message text is in no exported byte', async () => {
    const created = await request(api!.url)
      .post('/endpoints')
      .set('authorization', `Bearer ${OPS}`)
      .send({ url: receiver.url('/crm'), events: ['instagram.message.received'] });
    expect(created.status).toBe(201);

    const body = instagramEnvelope([
      messagingItem({ mid: 'm_traced', sender: 'patient-traced', text: `hello ${MARKER}` }),
    ]);
    const posted = await request(api!.url)
      .post('/webhooks/instagram?verify=secret-in-the-query')
      .set('content-type', 'application/json')
      .set('x-hub-signature-256', sign(body, TEST_APP_SECRET))
      .send(body);
    expect(posted.status).toBe(200);
    await waitFor(() => t.graph.repliesTo('patient-traced').length === 1, { message: 'the auto-reply' });
    await waitFor(() => receiver.at('/crm').length === 1, { message: 'the outbound delivery' });

    const graphPort = new URL(t.config.instagram.graphUrl).port;
    const receiverPort = new URL(receiver.url('/crm')).port;
    const trace = await waitFor(
      () => {
        const spans = collector.spans();
        const server = spans.find(
          (s) =>
            s.kind === 2 &&
            String(attribute(s, 'http.target') ?? attribute(s, 'url.path') ?? '').startsWith('/webhooks/instagram'),
        );
        if (!server) return undefined;
        const same = spans.filter((s) => s.traceId === server.traceId);
        const job = same.find((s) => s.kind === 5 && s.name.includes('inbound-events'));
        const clients = same.filter((s) => s.kind === 3);
        const sendApi = clients.find((s) => String(attribute(s, 'url.full') ?? '').includes(`:${graphPort}/`));
        const delivery = same.find((s) => s.name === 'outbound delivery');
        const posted = clients.find((s) => String(attribute(s, 'url.full') ?? '').includes(`:${receiverPort}/crm`));
        return job && sendApi && delivery && posted ? { server, job, sendApi, delivery, posted, same } : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, message: 'request, job, Send API and delivery spans in one trace' },
    );
    expect(trace.delivery.traceId).toBe(trace.server.traceId);
    expect(attribute(trace.delivery, 'switchboard.delivery.id')).toBeDefined();
    // The delivery's request carries the trace on to the subscriber.
    expect(String(receiver.at('/crm')[0].headers.traceparent)).toContain(trace.server.traceId);

    const exported = Buffer.concat(collector.bodies).toString('utf8');
    const leaks = (needle: string) =>
      collector
        .spans()
        .flatMap((s) => [...(s.attributes ?? []).map((a) => `${s.name} ${a.key}=${JSON.stringify(a.value)}`), s.name])
        .filter((line) => line.includes(needle));
    expect(leaks('secret-in-the-query')).toEqual([]);
    expect(exported).not.toContain(MARKER);
    expect(exported).not.toContain('secret-in-the-query');
    expect(exported).not.toContain('test-access-token');
    // SQL parameters are not exported (the sender and message ids are parameters of every statement about them).
    expect(exported).toContain('db.query.text');
    expect(exported).not.toContain('patient-traced');
    expect(exported).not.toContain('m_traced');
    expect(exported).not.toContain(t.config.autoReply.text);
  });
});
