import { Module } from '@nestjs/common';
import { InboundQueueModule } from '../inbound/queue/inbound-queue.module';
import { DeadLetterService } from './dead-letter.service';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersModule } from './dead-letters.module';

/** What an operator does with dead letters (API process): list, inspect, replay, purge. */
@Module({
  imports: [DeadLettersModule, InboundQueueModule],
  controllers: [DeadLettersController],
  providers: [DeadLetterService],
})
export class DeadLettersApiModule {}
