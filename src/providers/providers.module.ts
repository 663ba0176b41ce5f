import { Module } from '@nestjs/common';
import { ChannelProviders } from './channel-providers';
import { FacebookClient } from './facebook/facebook.client';
import { InstagramClient } from './instagram/instagram.client';
import { InstagramTokenClient } from './instagram/instagram-token.client';
import { WhatsAppClient } from './whatsapp/whatsapp.client';

/** The channels (Instagram, Messenger, WhatsApp) behind one interface (see ChannelProviders), and Instagram's token refresh. */
@Module({
  providers: [InstagramClient, FacebookClient, WhatsAppClient, ChannelProviders, InstagramTokenClient],
  exports: [ChannelProviders, InstagramTokenClient],
})
export class ProvidersModule {}
