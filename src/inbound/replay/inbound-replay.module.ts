import { Module } from '@nestjs/common';
import { ProvidersModule } from '../../providers/providers.module';
import { PriorityModule } from '../priority/priority.module';
import { InboundQueueModule } from '../queue/inbound-queue.module';
import { InboundDeadLetterReplayer } from './dead-letter.replayer';
import { ReplayRepository } from './replay.repository';

/** Inbound's side of a dead-letter replay (the DeadLetterReplayer port). */
@Module({
  imports: [InboundQueueModule, ProvidersModule, PriorityModule],
  providers: [ReplayRepository, InboundDeadLetterReplayer],
  exports: [InboundDeadLetterReplayer],
})
export class InboundReplayModule {}
