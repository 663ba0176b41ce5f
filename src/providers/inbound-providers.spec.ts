import { MalformedEnvelopeError } from './channel-provider';
import { INBOUND_PROVIDERS } from './inbound-providers';

const PAGE_ID = '104729655632186';
const PSID = '6789012345678901';
const fp = (value: string | Buffer) => `h${value.length}`;

describe('INBOUND_PROVIDERS', () => {
  it('registers instagram, facebook and whatsapp', () => {
    expect([...INBOUND_PROVIDERS.keys()]).toEqual(['instagram', 'facebook', 'whatsapp']);
  });

  describe('facebook (Messenger)', () => {
    const facebook = INBOUND_PROVIDERS.get('facebook')!;

    it('reads a Page envelope: messages, echoes and reads, keyed under facebook', () => {
      const events = facebook.parse(
        {
          object: 'page',
          entry: [
            {
              id: PAGE_ID,
              time: 1732250000123,
              messaging: [
                {
                  sender: { id: PSID },
                  recipient: { id: PAGE_ID },
                  timestamp: 1732250000100,
                  message: { mid: 'm_fb_1', text: 'Are you open on Sunday?' },
                },
                {
                  sender: { id: PAGE_ID },
                  recipient: { id: PSID },
                  timestamp: 1732250000200,
                  message: { mid: 'm_fb_2', text: 'Thanks', is_echo: true, app_id: 1517776481860111 },
                },
                {
                  sender: { id: PSID },
                  recipient: { id: PAGE_ID },
                  timestamp: 1732250000300,
                  read: { watermark: 1732250000200 },
                },
              ],
            },
          ],
        },
        fp,
      ).events;
      expect(events.map((e) => [e.kind, e.idempotencyKey])).toEqual([
        ['message', 'facebook:message:m_fb_1'],
        ['message_echo', 'facebook:message_echo:m_fb_2'],
        ['read', `facebook:read:1732250000200:${PSID}`],
      ]);
      expect(events[0]).toMatchObject({ accountId: PAGE_ID, senderId: PSID, recipientId: PAGE_ID });
    });

    it('refuses an Instagram or WhatsApp envelope', () => {
      expect(() => facebook.parse({ object: 'instagram', entry: [] }, fp)).toThrow(MalformedEnvelopeError);
      expect(() => facebook.parse({ object: 'whatsapp_business_account', entry: [] }, fp)).toThrow(
        MalformedEnvelopeError,
      );
    });
  });
});
