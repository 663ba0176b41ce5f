import { Global, Module } from '@nestjs/common';
import { DeadLetterAlert } from './dead-letter-alert';
import { DeadLetterRepository } from './dead-letter.repository';
import { DeadLetterService } from './dead-letter.service';

@Global()
@Module({
  providers: [DeadLetterRepository, DeadLetterService, DeadLetterAlert],
  exports: [DeadLetterRepository, DeadLetterService, DeadLetterAlert],
})
export class DeadLetterModule {}
