import { Global, Module } from '@nestjs/common';
import { MetricsController } from '../../ops/metrics/metrics.controller';
import { MetricsService } from './metrics.service';
import { QueueFigures } from '../../ops/metrics/queue-figures';

/** Prometheus metrics for this process (GET /metrics), and the queue figures shared by metrics, admin and logs. */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [MetricsService, QueueFigures],
  exports: [MetricsService, QueueFigures],
})
export class MetricsModule {}
