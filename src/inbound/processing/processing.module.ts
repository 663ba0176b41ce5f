import { Module } from '@nestjs/common';
import { ConversationRepository } from './conversation.repository';
import { FacebookClient } from '../../providers/facebook/facebook.client';
import { FacebookModule } from '../../providers/facebook/facebook.module';
import { InstagramModule } from '../../providers/instagram/instagram.module';
import { InstagramClient } from '../../providers/instagram/instagram.client';
import { WhatsAppClient } from '../../providers/whatsapp/whatsapp.client';
import { WhatsAppModule } from '../../providers/whatsapp/whatsapp.module';
import { InboundEventHandler } from './inbound-event.handler';
import { REPLY_CLIENTS } from '../../providers/reply-client';
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
