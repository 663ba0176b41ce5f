import { Module } from '@nestjs/common';
import { PriorityModule } from '../../inbound/priority/priority.module';
import { OpsMetricsModule } from '../metrics/ops-metrics.module';
import { QueuesController } from './queues.controller';
import { VipSendersController } from './vip-senders.controller';

/** Ops surfaces of the API process: queues and jobs, VIP senders. */
@Module({
  imports: [OpsMetricsModule, PriorityModule],
  controllers: [QueuesController, VipSendersController],
})
export class AdminModule {}
