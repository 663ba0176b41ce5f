import { Module } from '@nestjs/common';
import { VipSenderRepository } from '../../inbound/priority/vip-sender.repository';
import { OpsMetricsModule } from '../metrics/ops-metrics.module';
import { QueuesController } from './queues.controller';
import { VipSendersController } from './vip-senders.controller';

/** Ops surfaces of the API process: queues and jobs, VIP senders. */
@Module({
  imports: [OpsMetricsModule],
  controllers: [QueuesController, VipSendersController],
  providers: [VipSenderRepository],
})
export class AdminModule {}
