import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { QueueName } from '../queue/queue-names';
import { OperationRepository } from './operation.repository';
import { Operations } from './operations.service';

/** Starting, reading and cancelling durable operations (the API side); OperationsWorkerModule runs them. */
@Module({
  imports: [BullModule.registerQueue({ name: QueueName.Operations })],
  providers: [OperationRepository, Operations],
  exports: [Operations, OperationRepository, BullModule],
})
export class OperationsModule {}
