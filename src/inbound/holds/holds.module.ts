import { Module } from '@nestjs/common';
import { HeldReplyRepository } from '../processing/held-reply.repository';
import { SendPacer } from '../processing/send-pacer';
import { InboundQueueModule } from '../queue/inbound-queue.module';
import { HeldReplies } from './held-replies';

/** Replies held by their accounts: counting and releasing them (the admin routes, health, metrics, the sweeper). */
@Module({
  imports: [InboundQueueModule],
  providers: [HeldReplyRepository, HeldReplies, SendPacer],
  exports: [HeldReplies],
})
export class HoldsModule {}
