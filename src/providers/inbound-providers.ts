import { parseWhatsAppEnvelope } from './whatsapp/whatsapp-envelope-parser';
import { ParsedEvent, Provider } from './channel-provider';
import { parseMetaEnvelope } from './meta/meta-envelope-parser';

/** A source of inbound webhooks: how to read its envelope. Adding a provider is adding an entry here and a client. */
export interface InboundProvider {
  name: Provider;
  parse(body: unknown, fingerprint: (value: string) => string): ParsedEvent[];
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
