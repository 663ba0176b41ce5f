import { Module } from '@nestjs/common';
import { AccountStoreModule } from '../../accounts/accounts.module';
import { HoldsModule } from '../../inbound/holds/holds.module';
import { AccountFigures } from './account-figures';
import { MetricsController } from './metrics.controller';
import { QueueFigures } from './queue-figures';

/** GET /metrics, the queue figures it shares with the admin routes and the worker's log line, and the accounts' figures. */
@Module({
  imports: [AccountStoreModule, HoldsModule],
  controllers: [MetricsController],
  providers: [QueueFigures, AccountFigures],
  exports: [QueueFigures, AccountFigures],
})
export class OpsMetricsModule {}
