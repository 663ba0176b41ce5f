import { Module } from '@nestjs/common';
import { DeadLettersController } from './dead-letters.controller';
import { QueuesController } from './queues.controller';

/** Ops surfaces of the API process: dead letters, queues and jobs. */
@Module({
  controllers: [DeadLettersController, QueuesController],
})
export class AdminModule {}
