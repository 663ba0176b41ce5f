import { Module } from '@nestjs/common';
import { MessagesController } from './messages.controller';
import { MessageStoreModule } from './message-store.module';

/** POST /messages and GET /messages/:id. */
@Module({
  imports: [MessageStoreModule],
  controllers: [MessagesController],
})
export class MessagesApiModule {}
