import { Module } from '@nestjs/common';
import { ChannelProviders } from './channel-providers';
import { FacebookClient } from './facebook/facebook.client';
import { InstagramClient } from './instagram/instagram.client';
import { WhatsAppClient } from './whatsapp/whatsapp.client';

/** The channels (Instagram, Messenger, WhatsApp) behind one interface; see ChannelProviders. */
@Module({
  providers: [InstagramClient, FacebookClient, WhatsAppClient, ChannelProviders],
  exports: [ChannelProviders],
})
export class ProvidersModule {}
