import request from 'supertest';
import { DataCipher, sealedIn } from '../src/platform/crypto/data-cipher';
import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { startTestApp, TestApp } from './support/test-app';
import { waitFor } from './support/wait';

const OPS = 'ops-replay-priority-test-key-0123456789';

describe('dead letters: a replayed malformed body keeps what a fresh delivery would get', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { OPS_API_KEYS: OPS, VIP_SENDER_IDS: 'vip-patient' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores the events of a VIP sender with VIP priority', async () => {
    // As if an older parser had refused this body: stored sealed, dead-lettered as malformed.
    const body = instagramEnvelope([messagingItem({ mid: 'm_vip_reparse', sender: 'vip-patient', text: 'hola' })]);
    await t.db.pool.query(
      `WITH receipt AS (
         INSERT INTO webhook_receipts (id, provider, correlation_id, body_bytes, event_count, body, parse_error)
         VALUES ('00000000-0000-7000-8000-0000000001c1', 'instagram', 'corr-vip-reparse', $1, 0, $2, 'not_an_envelope')
         RETURNING id
       )
       INSERT INTO dead_letters (id, source, receipt_id, provider, correlation_id, category, error)
       SELECT '00000000-0000-7000-8000-0000000001b1', 'inbound', id, 'instagram', 'corr-vip-reparse', 'malformed',
              'not_an_envelope'
         FROM receipt`,
      [
        body.length,
        t.app.get(DataCipher).encrypt(body, sealedIn('webhook_receipts.body', '00000000-0000-7000-8000-0000000001c1')),
      ],
    );

    const res = await request(t.url)
      .post('/admin/dead-letters/00000000-0000-7000-8000-0000000001b1/replay')
      .set('authorization', `Bearer ${OPS}`);
    expect(res.status).toBe(202);
    const [eventId] = res.body.eventIds as string[];

    const [event] = (await t.db.pool.query(`SELECT priority FROM inbound_events WHERE id = $1`, [eventId])).rows;
    expect(event.priority).toBe(1);
    await waitFor(() => t.graph.repliesTo('vip-patient').length === 1, { message: 'reply to the replayed event' });
  });
});
