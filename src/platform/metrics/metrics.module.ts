import { Global, Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** This process's Prometheus registry; GET /metrics and the queue figures are in ops/metrics. */
@Global()
@Module({
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
