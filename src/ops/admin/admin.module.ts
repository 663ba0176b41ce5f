import { DynamicModule, Module } from '@nestjs/common';
import { AccountPorts, AccountsModule } from '../../accounts/accounts.module';
import { HoldsModule } from '../../inbound/holds/holds.module';
import { PriorityModule } from '../../inbound/priority/priority.module';
import { OpsMetricsModule } from '../metrics/ops-metrics.module';
import { AccountsController } from './accounts.controller';
import { QueuesController } from './queues.controller';
import { VipSendersController } from './vip-senders.controller';

/** Ops surfaces of the API process: queues and jobs, VIP senders, the clinic's accounts. */
@Module({})
export class AdminModule {
  static register(ports: { accounts: AccountPorts }): DynamicModule {
    return {
      module: AdminModule,
      imports: [OpsMetricsModule, PriorityModule, AccountsModule.register(ports.accounts), HoldsModule],
      controllers: [QueuesController, VipSendersController, AccountsController],
    };
  }
}
