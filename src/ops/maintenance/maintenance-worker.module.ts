import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { AccountPorts, AccountsModule } from '../../accounts/accounts.module';
import { QueueName } from '../../platform/queue/queue-names';
import { MaintenanceProcessor } from './maintenance.processor';
import { MaintenanceScheduler } from './maintenance.scheduler';
import { RetentionModule } from './retention.module';

/** The maintenance consumer and its schedules (retention, account tokens). Imported only by worker compositions. */
@Module({})
export class MaintenanceWorkerModule {
  static register(ports: { accounts: AccountPorts }): DynamicModule {
    return {
      module: MaintenanceWorkerModule,
      imports: [
        RetentionModule,
        AccountsModule.register(ports.accounts),
        BullModule.registerQueue({ name: QueueName.Maintenance }),
      ],
      providers: [MaintenanceProcessor, MaintenanceScheduler],
    };
  }
}
