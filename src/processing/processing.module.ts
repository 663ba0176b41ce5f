import { Module } from '@nestjs/common';
import { ConversationRepository } from '../conversations/conversation.repository';
import { InstagramModule } from '../instagram/instagram.module';
import { InboundEventHandler } from './inbound-event.handler';

/** What processing an event takes. Imported by the worker module, and by the API for USE_QUEUE=false. */
@Module({
  imports: [InstagramModule],
  providers: [InboundEventHandler, ConversationRepository],
  exports: [InboundEventHandler],
})
export class ProcessingModule {}
