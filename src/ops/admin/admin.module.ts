import { DynamicModule, Module } from '@nestjs/common';
import { AccountPorts, AccountsModule } from '../../accounts/accounts.module';
import { HoldsModule } from '../../inbound/holds/holds.module';
import { PriorityModule } from '../../inbound/priority/priority.module';
import { OperationsModule } from '../../platform/operations/operations.module';
import { OpsMetricsModule } from '../metrics/ops-metrics.module';
import { AccountsController } from './accounts.controller';
import { OperationsController } from './operations.controller';
import { QueuesController } from './queues.controller';
import { VipSendersController } from './vip-senders.controller';

/** Ops surfaces of the API process: queues and jobs, durable operations, VIP senders, the clinic's accounts. */
@Module({})
export class AdminModule {
  static register(ports: { accounts: AccountPorts }): DynamicModule {
    return {
      module: AdminModule,
      imports: [OpsMetricsModule, PriorityModule, OperationsModule, AccountsModule.register(ports.accounts), HoldsModule],
      controllers: [QueuesController, VipSendersController, OperationsController, AccountsController],
    };
  }
}
