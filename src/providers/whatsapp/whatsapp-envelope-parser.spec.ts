import { MalformedEnvelopeError } from '../channel-provider';
import { parseWhatsAppEnvelope } from './whatsapp-envelope-parser';

const WABA_ID = '102290129340398';
const PHONE_NUMBER_ID = '106540352242922';
const PATIENT = '16505551234';
const fp = (value: string | Buffer) => `h${value.length}`;
const parse = (body: unknown) => parseWhatsAppEnvelope(body, fp).events;

/** The `messages` change as the Cloud API sends it. */
const envelope = (value: Record<string, unknown>, field = 'messages') => ({
  object: 'whatsapp_business_account',
  entry: [
    {
      id: WABA_ID,
      changes: [
        {
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550783881', phone_number_id: PHONE_NUMBER_ID },
            ...value,
          },
          field,
        },
      ],
    },
  ],
});
const contacts = [{ profile: { name: 'Sheena Nelson' }, wa_id: PATIENT }];
const textMessage = (id: string, body: string, timestamp = '1749416383') => ({
  from: PATIENT,
  id,
  timestamp,
  type: 'text',
  text: { body },
});
const status = (id: string, state: string, extra: Record<string, unknown> = {}) => ({
  id,
  status: state,
  timestamp: '1750263773',
  recipient_id: PATIENT,
  ...extra,
});

describe('parseWhatsAppEnvelope', () => {
  it('reads a text message into the Messenger shape the handler reads, keeping the original', () => {
    const original = textMessage('wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRB', 'Does it come in another color?');
    const [event] = parse(envelope({ contacts, messages: [original] }));
    expect(event).toEqual({
      kind: 'message',
      channel: 'changes',
      idempotencyKey: 'whatsapp:message:wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRB',
      accountId: PHONE_NUMBER_ID,
      senderId: PATIENT,
      recipientId: PHONE_NUMBER_ID,
      metaMessageId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRB',
      occurredAt: new Date(1749416383_000),
      payload: {
        sender: { id: PATIENT },
        recipient: { id: PHONE_NUMBER_ID },
        timestamp: 1749416383_000,
        message: {
          mid: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRB',
          text: 'Does it come in another color?',
          attachments: [],
        },
        whatsapp: original,
      },
    });
  });

  it('reads an image as an attachment with its caption as text', () => {
    const image = { caption: 'my rash', mime_type: 'image/jpeg', sha256: 'abc=', id: '1003383421387256' };
    const [event] = parse(
      envelope({
        contacts,
        messages: [{ from: PATIENT, id: 'wamid.img', timestamp: '1749416400', type: 'image', image }],
      }),
    );
    expect(event.kind).toBe('message');
    expect(event.payload).toMatchObject({
      message: { mid: 'wamid.img', text: 'my rash', attachments: [{ type: 'image', payload: image }] },
    });
  });

  it('reads audio, documents and button replies; reactions are recorded, not answered', () => {
    const events = parse(
      envelope({
        contacts,
        messages: [
          {
            from: PATIENT,
            id: 'wamid.a',
            timestamp: '1',
            type: 'audio',
            audio: { mime_type: 'audio/ogg', id: '9', voice: true },
          },
          { from: PATIENT, id: 'wamid.d', timestamp: '1', type: 'document', document: { filename: 'x.pdf', id: '8' } },
          { from: PATIENT, id: 'wamid.b', timestamp: '1', type: 'button', button: { text: 'Confirm', payload: 'C' } },
          {
            from: PATIENT,
            id: 'wamid.r',
            timestamp: '1',
            type: 'reaction',
            reaction: { message_id: 'wamid.x', emoji: '\u{1F44D}' },
          },
        ],
      }),
    );
    expect(events.map((e) => [e.kind, e.idempotencyKey])).toEqual([
      ['message', 'whatsapp:message:wamid.a'],
      ['message', 'whatsapp:message:wamid.d'],
      ['message', 'whatsapp:message:wamid.b'],
      ['reaction', 'whatsapp:reaction:wamid.r'],
    ]);
    expect(events[0].payload).toMatchObject({ message: { text: null, attachments: [{ type: 'audio' }] } });
    expect(events[2].payload).toMatchObject({ message: { text: 'Confirm', attachments: [] } });
  });

  it('reads each message of a batch, across changes and entries', () => {
    const body = envelope({ contacts, messages: [textMessage('wamid.1', 'one'), textMessage('wamid.2', 'two')] });
    body.entry.push({ ...envelope({ messages: [textMessage('wamid.3', 'three')] }).entry[0] });
    const events = parse(body);
    expect(events.map((e) => e.metaMessageId)).toEqual(['wamid.1', 'wamid.2', 'wamid.3']);
    expect(new Set(events.map((e) => e.idempotencyKey)).size).toBe(3);
  });

  it.each(['sent', 'delivered', 'read'])('reads a %s status, keyed by message and status', (state) => {
    const [event] = parse(
      envelope({
        statuses: [
          status('wamid.out', state, {
            conversation: { id: 'c1', origin: { type: 'service' } },
            pricing: { billable: true, pricing_model: 'PMP', category: 'service' },
          }),
        ],
      }),
    );
    expect(event).toMatchObject({
      kind: 'status',
      channel: 'changes',
      idempotencyKey: `whatsapp:status:wamid.out:${state}`,
      accountId: PHONE_NUMBER_ID,
      senderId: PHONE_NUMBER_ID,
      recipientId: PATIENT,
      metaMessageId: 'wamid.out',
      occurredAt: new Date(1750263773_000),
    });
  });

  it('reads a failed status with its errors', () => {
    const failed = status('wamid.out', 'failed', {
      errors: [{ code: 131047, title: 'Re-engagement message', error_data: { details: 'more than 24 hours' } }],
    });
    const [event] = parse(envelope({ statuses: [failed] }));
    expect(event.idempotencyKey).toBe('whatsapp:status:wamid.out:failed');
    expect(event.payload).toEqual(failed);
  });

  it('records other fields and a messages change without messages as changes', () => {
    const events = parse({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: WABA_ID,
          changes: [
            { field: 'message_template_status_update', value: { event: 'APPROVED', message_template_id: 1 } },
            {
              field: 'messages',
              value: {
                metadata: { phone_number_id: PHONE_NUMBER_ID },
                errors: [{ code: 131051, title: 'Unsupported' }],
              },
            },
          ],
        },
      ],
    });
    expect(events.map((e) => [e.kind, e.accountId])).toEqual([
      ['change', WABA_ID],
      ['change', PHONE_NUMBER_ID],
    ]);
    expect(events[0].idempotencyKey).toMatch(/^whatsapp:change:message_template_status_update:fp-/);
    expect(events[1].idempotencyKey).toMatch(/^whatsapp:change:messages:fp-/);
  });

  it('keys a message without an id by its fingerprint', () => {
    const [event] = parse(envelope({ messages: [{ from: PATIENT, type: 'text', text: { body: 'x' } }] }));
    expect(event.idempotencyKey).toMatch(/^whatsapp:message:fp-h\d+$/);
    expect(event.metaMessageId).toBeNull();
  });

  it.each([
    ['not an object', 'hello', 'not_an_envelope'],
    ['no entry', { object: 'whatsapp_business_account' }, 'not_an_envelope'],
    ['entry not a list', { object: 'whatsapp_business_account', entry: {} }, 'not_an_envelope'],
    ['another object', { object: 'page', entry: [] }, 'wrong_object'],
  ])('refuses %s', (_, body, reason) => {
    expect(() => parse(body)).toThrow(MalformedEnvelopeError);
    try {
      parse(body);
    } catch (error) {
      expect((error as MalformedEnvelopeError).reason).toBe(reason);
    }
  });
});
