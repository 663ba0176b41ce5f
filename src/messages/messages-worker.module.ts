import { Module } from '@nestjs/common';
import { AccountStoreModule } from '../accounts/accounts.module';
import { SendPacer } from '../inbound/processing/send-pacer';
import { ProvidersModule } from '../providers/providers.module';
import { MessageRelay } from './message-relay';
import { MessageSendProcessor } from './message-send.processor';
import { MessageSender } from './message-sender';
import { MessageStoreModule } from './message-store.module';

/** The consumer of POST /messages' sends and its relay: only a process that imports this sends them. */
@Module({
  imports: [MessageStoreModule, AccountStoreModule, ProvidersModule],
  providers: [MessageSender, MessageSendProcessor, MessageRelay, SendPacer],
})
export class MessagesWorkerModule {}
