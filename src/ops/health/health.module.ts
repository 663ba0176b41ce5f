import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DeadLettersModule } from '../../dead-letters/dead-letters.module';
import { InboundQueueModule } from '../../inbound/queue/inbound-queue.module';
import { OpsMetricsModule } from '../metrics/ops-metrics.module';
import { DependencyHealth } from './dependency-health';
import { HealthController } from './health.controller';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), InboundQueueModule, DeadLettersModule, OpsMetricsModule],
  controllers: [HealthController],
  providers: [DependencyHealth],
  exports: [DependencyHealth],
})
export class HealthModule {}
