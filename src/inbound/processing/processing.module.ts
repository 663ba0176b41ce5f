import { Module } from '@nestjs/common';
import { ProvidersModule } from '../../providers/providers.module';
import { ConversationRepository } from './conversation.repository';
import { InboundEventHandler } from './inbound-event.handler';
import { SendPacer } from './send-pacer';

/** What processing an event takes. Imported by the worker module, and by the API for USE_QUEUE=false. */
@Module({
  imports: [ProvidersModule],
  providers: [InboundEventHandler, ConversationRepository, SendPacer],
  exports: [InboundEventHandler],
})
export class ProcessingModule {}
