import { Injectable } from '@nestjs/common';
import { ChannelProvider } from './channel-provider';
import { FacebookClient } from './facebook/facebook.client';
import { INBOUND_PROVIDERS } from './inbound-providers';
import { InstagramClient } from './instagram/instagram.client';
import { classifyReportedError } from './meta/failure-classifier';
import { GraphSendClient } from './meta/graph-send-client';
import { WhatsAppClient } from './whatsapp/whatsapp.client';

/** Every channel, by name: its envelope parser, its send client and its error classification. */
@Injectable()
export class ChannelProviders {
  private readonly byName = new Map<string, ChannelProvider>();

  constructor(instagram: InstagramClient, facebook: FacebookClient, whatsapp: WhatsAppClient) {
    for (const client of [instagram, facebook, whatsapp]) this.register(client);
  }

  /** Undefined for a name that is not a channel (a webhook URL anyone can type). */
  get(name: string): ChannelProvider | undefined {
    return this.byName.get(name);
  }

  private register(client: GraphSendClient): void {
    const inbound = INBOUND_PROVIDERS.get(client.provider);
    if (!inbound) throw new Error(`no envelope parser for provider ${client.provider}`);
    this.byName.set(inbound.name, {
      name: inbound.name,
      parse: inbound.parse,
      sendText: (message) => client.sendText(message),
      classifyError: classifyReportedError,
    });
  }
}
