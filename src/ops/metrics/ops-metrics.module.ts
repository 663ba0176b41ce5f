import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { QueueFigures } from './queue-figures';

/** GET /metrics, and the queue figures it shares with the admin routes and the worker's log line. */
@Module({
  controllers: [MetricsController],
  providers: [QueueFigures],
  exports: [QueueFigures],
})
export class OpsMetricsModule {}
