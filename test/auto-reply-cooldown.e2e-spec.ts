import { instagramEnvelope, messagingItem } from './support/meta-payloads';
import { TestApp, postWebhook, startTestApp } from './support/test-app';
import { waitFor } from './support/wait';

describe('AUTO_REPLY_COOLDOWN_MINUTES (real Postgres, Redis and a fake Graph API)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { AUTO_REPLY_COOLDOWN_MINUTES: '60' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const post = (body: string) => postWebhook(t, body);
  const replies = (participant: string) =>
    t.db.pool
      .query<{ status: string; skip_reason: string | null }>(
        `SELECT r.status, r.skip_reason FROM replies r JOIN conversations c ON c.id = r.conversation_id
          WHERE c.participant_id = $1 ORDER BY r.created_at, r.id`,
        [participant],
      )
      .then((result) => result.rows);
  const processed = (prefix: string) =>
    t.db.pool
      .query<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbound_events WHERE meta_message_id LIKE $1 AND status = 'processed'`,
        [`${prefix}%`],
      )
      .then((result) => result.rows[0].n);

  it('answers one message per conversation per window, in one POST and across POSTs, and skips the rest', async () => {
    const items = [
      ...Array.from({ length: 6 }, (_, i) => messagingItem({ mid: `m_cool_a${i}`, sender: 'cool-a', text: `a ${i}` })),
      messagingItem({ mid: 'm_cool_b0', sender: 'cool-b', text: 'b 0' }),
    ];
    expect((await post(instagramEnvelope(items))).status).toBe(200);
    await waitFor(() => processed('m_cool_').then((n) => n === 7), { message: '7 processed events' });

    expect(
      (await post(instagramEnvelope([messagingItem({ mid: 'm_cool_a6', sender: 'cool-a', text: 'a 6' })]))).status,
    ).toBe(200);
    await waitFor(() => processed('m_cool_').then((n) => n === 8), { message: '8 processed events' });

    expect(t.graph.repliesTo('cool-a')).toHaveLength(1);
    expect(t.graph.repliesTo('cool-b')).toHaveLength(1);
    const a = await replies('cool-a');
    expect(a).toHaveLength(7);
    expect(a.filter((reply) => reply.status === 'sent')).toHaveLength(1);
    expect(a.filter((reply) => reply.status === 'skipped' && reply.skip_reason === 'cooldown')).toHaveLength(6);
    expect((await replies('cool-b')).map((reply) => reply.status)).toEqual(['sent']);
  });
});
