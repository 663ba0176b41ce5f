import { Module } from '@nestjs/common';
import { ConversationRepository } from '../conversations/conversation.repository';
import { FacebookClient } from '../facebook/facebook.client';
import { FacebookModule } from '../facebook/facebook.module';
import { InstagramModule } from '../instagram/instagram.module';
import { InstagramClient } from '../instagram/instagram.client';
import { WhatsAppClient } from '../whatsapp/whatsapp.client';
import { WhatsAppModule } from '../whatsapp/whatsapp.module';
import { InboundEventHandler } from './inbound-event.handler';
import { REPLY_CLIENTS } from './reply-client';
import { SendPacer } from './send-pacer';

/** What processing an event takes. Imported by the worker module, and by the API for USE_QUEUE=false. */
@Module({
  imports: [InstagramModule, FacebookModule, WhatsAppModule],
  providers: [
    InboundEventHandler,
    ConversationRepository,
    SendPacer,
    // One client per provider that can answer; the handler picks by the event's provider.
    {
      provide: REPLY_CLIENTS,
      inject: [InstagramClient, FacebookClient, WhatsAppClient],
      useFactory: (...clients) => clients,
    },
  ],
  exports: [InboundEventHandler],
})
export class ProcessingModule {}
