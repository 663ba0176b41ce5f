import { Module } from '@nestjs/common';
import { DeadLetterAlert } from './dead-letter-alert';
import { DeadLetterRepository } from './dead-letter.repository';

/** The dead-letter store and its alert (the pending count, as a log line and gauges): in every process. */
@Module({
  providers: [DeadLetterRepository, DeadLetterAlert],
  exports: [DeadLetterRepository, DeadLetterAlert],
})
export class DeadLettersModule {}
