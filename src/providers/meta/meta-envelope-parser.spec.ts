import { MalformedEnvelopeError } from '../channel-provider';
import { parseMetaEnvelope } from './meta-envelope-parser';
import { normaliseTimestamp } from './payload-reading';

const ACCOUNT = '17841400000000001';
const fp = (value: string | Buffer) => `h${value.length}`;
const parse = (body: unknown) => parseMetaEnvelope(body, 'instagram', 'instagram', fp).events;
const envelope = (entry: Record<string, unknown>) => ({
  object: 'instagram',
  entry: [{ id: ACCOUNT, time: 1732250000, ...entry }],
});
const dm = (extra: Record<string, unknown>) => ({
  sender: { id: 'igsid-1' },
  recipient: { id: ACCOUNT },
  timestamp: 1732250000123,
  ...extra,
});

describe('parseMetaEnvelope', () => {
  it('reads a text message', () => {
    const [event] = parse(envelope({ messaging: [dm({ message: { mid: 'mid.1', text: 'hi' } })] }));
    expect(event).toMatchObject({
      kind: 'message',
      channel: 'messaging',
      idempotencyKey: 'instagram:message:mid.1',
      accountId: ACCOUNT,
      senderId: 'igsid-1',
      recipientId: ACCOUNT,
      metaMessageId: 'mid.1',
      occurredAt: new Date(1732250000123),
    });
    expect(event.payload).toEqual(dm({ message: { mid: 'mid.1', text: 'hi' } }));
  });

  it('reads attachments, echoes, deletions, edits, reads, reactions, postbacks and referrals', () => {
    const events = parse(
      envelope({
        messaging: [
          dm({ message: { mid: 'mid.a', attachments: [{ type: 'image', payload: { url: 'https://cdn/x' } }] } }),
          {
            sender: { id: ACCOUNT },
            recipient: { id: 'igsid-1' },
            timestamp: 1,
            message: { mid: 'mid.e', text: 'auto', is_echo: true },
          },
          dm({ message: { mid: 'mid.a', is_deleted: true } }),
          dm({ message_edit: { mid: 'mid.a', text: 'fixed', num_edit: 2 } }),
          dm({ read: { mid: 'mid.a' } }),
          dm({ reaction: { mid: 'mid.a', action: 'react', reaction: 'love', emoji: '\u2764' } }),
          dm({ reaction: { mid: 'mid.a', action: 'unreact' } }),
          dm({ postback: { mid: 'mid.p', title: 'Book', payload: 'BOOK' } }),
          dm({ referral: { ref: 'ad-1', source: 'ADS' } }),
          dm({ something_new: {} }),
        ],
      }),
    );
    expect(events.map((e) => [e.kind, e.idempotencyKey])).toEqual([
      ['message', 'instagram:message:mid.a'],
      ['message_echo', 'instagram:message_echo:mid.e'],
      // The deletion reuses the message's mid: the kind keeps the keys apart.
      ['message_deleted', 'instagram:message_deleted:mid.a'],
      ['message_edit', 'instagram:message_edit:mid.a:2'],
      ['read', 'instagram:read:mid.a:igsid-1'],
      ['reaction', 'instagram:reaction:mid.a:igsid-1:react:1732250000123'],
      ['reaction', 'instagram:reaction:mid.a:igsid-1:unreact:1732250000123'],
      ['postback', 'instagram:postback:mid.p'],
      ['referral', expect.stringMatching(/^instagram:referral:fp-h\d+$/)],
      ['unknown', expect.stringMatching(/^instagram:unknown:fp-h\d+$/)],
    ]);
  });

  it('reads standby events (another app holds the thread)', () => {
    const [event] = parse(envelope({ standby: [dm({ message: { mid: 'mid.s', text: 'hello' } })] }));
    expect(event).toMatchObject({ kind: 'message', channel: 'standby', idempotencyKey: 'instagram:message:mid.s' });
  });

  it('reads comment changes and the dashboard test event (id "0", string timestamp)', () => {
    const events = parse(
      envelope({
        changes: [
          {
            field: 'comments',
            value: {
              id: '17865799348089039',
              from: { id: 'user-9', username: 'x' },
              text: 'nice',
              media: { id: 'm1' },
            },
          },
          {
            field: 'comments',
            value: {
              id: '0',
              from: { id: '232323232', username: 'test' },
              text: 'This is an example.',
              timestamp: '1527459824',
            },
          },
          { field: 'mentions', value: { media_id: 'm2', comment_id: 'c2' } },
        ],
      }),
    );
    expect(events[0]).toMatchObject({
      kind: 'comment',
      channel: 'changes',
      idempotencyKey: 'instagram:comment:17865799348089039',
      senderId: 'user-9',
    });
    expect(events[1]).toMatchObject({ kind: 'comment', occurredAt: new Date(1527459824000) });
    expect(events[1].idempotencyKey).toMatch(/^instagram:comment:fp-/);
    expect(events[2]).toMatchObject({
      kind: 'change',
      idempotencyKey: expect.stringMatching(/^instagram:change:mentions:fp-/),
    });
  });

  it('reads every entry of a batch', () => {
    const body = {
      object: 'instagram',
      entry: Array.from({ length: 3 }, (_, i) => ({
        id: ACCOUNT,
        time: 1,
        messaging: [dm({ message: { mid: `m${i}`, text: 'x' } })],
      })),
    };
    expect(parse(body).map((e) => e.metaMessageId)).toEqual(['m0', 'm1', 'm2']);
  });

  it.each([
    ['null', null, 'not_an_envelope'],
    ['an array', [], 'not_an_envelope'],
    ['no entry', { object: 'instagram' }, 'not_an_envelope'],
    ['entry not an array', { object: 'instagram', entry: {} }, 'not_an_envelope'],
    ['another object', { object: 'page', entry: [] }, 'wrong_object'],
  ])('refuses %s', (_, body, reason) => {
    expect(() => parse(body)).toThrow(new MalformedEnvelopeError(reason as MalformedEnvelopeError['reason']));
  });

  it('skips entries that are not objects but keeps the rest', () => {
    const body = {
      object: 'instagram',
      entry: [null, 5, { id: ACCOUNT, messaging: [dm({ message: { mid: 'ok', text: 'x' } })] }],
    };
    expect(parse(body)).toHaveLength(1);
  });
});

describe('normaliseTimestamp', () => {
  it.each([
    [1732250000, 1732250000000],
    [1732250000123, 1732250000123],
    ['1527459824', 1527459824000],
    ['1527459824000', 1527459824000],
  ])('reads %p', (input, millis) => {
    expect(normaliseTimestamp(input)?.getTime()).toBe(millis);
  });

  it.each([[null], [undefined], ['soon'], [-5], [0], [{}]])('gives null for %p', (input) => {
    expect(normaliseTimestamp(input)).toBeNull();
  });
});
