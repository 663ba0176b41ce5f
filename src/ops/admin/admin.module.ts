import { Module } from '@nestjs/common';
import { PriorityModule } from '../../inbound/priority/priority.module';
import { OperationsModule } from '../../platform/operations/operations.module';
import { OpsMetricsModule } from '../metrics/ops-metrics.module';
import { OperationsController } from './operations.controller';
import { QueuesController } from './queues.controller';
import { VipSendersController } from './vip-senders.controller';

/** Ops surfaces of the API process: queues and jobs, durable operations, VIP senders. */
@Module({
  imports: [OpsMetricsModule, PriorityModule, OperationsModule],
  controllers: [QueuesController, VipSendersController, OperationsController],
})
export class AdminModule {}
