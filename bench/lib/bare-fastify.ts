import fastify from 'fastify';
import { AddressInfo } from 'node:net';
import { Pool } from 'undici';

/**
 * The baseline: a bare Fastify app on the same machine, answering 200 to the webhook route. With
 * GRAPH_URL set it also forwards a reply to the fake Graph API (no storage, no queue, no retry): the
 * ceiling for an end-to-end pipeline on this hardware.
 */
const graphUrl = process.env.GRAPH_URL;
const graph = graphUrl ? new Pool(new URL(graphUrl).origin, { connections: 512 }) : undefined;
const graphPath = graphUrl ? `${new URL(graphUrl).pathname}/me/messages` : '';

const app = fastify({ logger: false });
app.post('/webhooks/:provider', async (request, reply) => {
  if (graph) {
    const body = request.body as { entry?: { messaging?: { sender?: { id?: string } }[] }[] };
    const sender = body?.entry?.[0]?.messaging?.[0]?.sender?.id;
    void graph
      .request({
        method: 'POST',
        path: graphPath,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ recipient: { id: sender }, message: { text: 'ok' } }),
      })
      .then((response) => response.body.dump())
      .catch(() => undefined);
  }
  void reply.type('text/plain').send('EVENT_RECEIVED');
});
app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
  process.send?.({ port: (app.server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
