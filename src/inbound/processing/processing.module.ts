import { DynamicModule, Module } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module';
import { ProvidersModule } from '../../providers/providers.module';
import { InboundPorts } from '../inbound-ports';
import { EventStoreModule } from '../store/event-store.module';
import { ConversationRepository } from './conversation.repository';
import { InboundEventHandler } from './inbound-event.handler';
import { MessageStoredListener } from './message-stored.port';
import { ReplyPolicy } from './reply-policy';
import { SendPacer } from './send-pacer';

/** What processing an event takes. Imported by the worker, and by the API for USE_QUEUE=false. */
@Module({})
export class ProcessingModule {
  static register(ports: InboundPorts): DynamicModule {
    return {
      module: ProcessingModule,
      imports: [EventStoreModule, ProvidersModule, AccountsModule.register(ports.accounts), ports.messageStored.module],
      providers: [
        InboundEventHandler,
        ConversationRepository,
        SendPacer,
        ReplyPolicy,
        { provide: MessageStoredListener, useExisting: ports.messageStored.use },
      ],
      exports: [InboundEventHandler],
    };
  }
}
