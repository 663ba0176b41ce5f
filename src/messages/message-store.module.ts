import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AccountStoreModule } from '../accounts/accounts.module';
import { QueueName } from '../platform/queue/queue-names';
import { MessagesService } from './messages.service';
import { OutgoingMessageRepository } from './outgoing-message.repository';

/** Storing and queueing messages of POST /messages (the API and the relay). */
@Module({
  imports: [AccountStoreModule, BullModule.registerQueue({ name: QueueName.OutgoingMessages })],
  providers: [MessagesService, OutgoingMessageRepository],
  exports: [MessagesService, OutgoingMessageRepository],
})
export class MessageStoreModule {}
