import { parseWhatsAppEnvelope } from './whatsapp/whatsapp-envelope-parser';
import { Fingerprint, ParsedEnvelope, Provider } from './channel-provider';
import { parseMetaEnvelope } from './meta/meta-envelope-parser';

/** How each channel's webhook envelope is read (ChannelProviders pairs it with the channel's client). */
export interface InboundProvider {
  name: Provider;
  /** Throws MalformedEnvelopeError for a body that is not its envelope. */
  parse(body: unknown, fingerprint: Fingerprint): ParsedEnvelope;
}

export const INBOUND_PROVIDERS: ReadonlyMap<string, InboundProvider> = new Map<string, InboundProvider>([
  [
    'instagram',
    { name: 'instagram', parse: (body, fingerprint) => parseMetaEnvelope(body, 'instagram', 'instagram', fingerprint) },
  ],
  // Messenger shares Instagram's envelope; its object is the Page.
  [
    'facebook',
    { name: 'facebook', parse: (body, fingerprint) => parseMetaEnvelope(body, 'facebook', 'page', fingerprint) },
  ],
  ['whatsapp', { name: 'whatsapp', parse: (body, fingerprint) => parseWhatsAppEnvelope(body, fingerprint) }],
]);
