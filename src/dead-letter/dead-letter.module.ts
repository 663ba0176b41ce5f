import { Global, Module } from '@nestjs/common';
import { DeadLetterRepository } from './dead-letter.repository';

@Global()
@Module({
  providers: [DeadLetterRepository],
  exports: [DeadLetterRepository],
})
export class DeadLetterModule {}
