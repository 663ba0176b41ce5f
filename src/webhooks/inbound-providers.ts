import { parseWhatsAppEnvelope } from '../whatsapp/whatsapp-envelope-parser';
import { ParsedEnvelope, Provider } from './inbound-event';
import { parseMetaEnvelope } from './meta-envelope-parser';
import { Fingerprint } from './payload-reading';

/** A source of inbound webhooks: how to read its envelope. Adding a provider is adding an entry here and a client. */
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
