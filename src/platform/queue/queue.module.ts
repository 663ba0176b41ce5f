import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { RedisConnections } from '../redis/redis-connections';
import { queueTelemetry } from '../tracing/tracing';
import { QueueConnectionErrors } from './queue-connection-errors';

/** BullMQ on the shared Redis connection; each owner registers its own queue (BullModule.registerQueue). */
@Global()
@Module({
  imports: [
    DiscoveryModule,
    BullModule.forRootAsync({
      inject: [AppConfig, RedisConnections],
      useFactory: (config: AppConfig, redis: RedisConnections) => ({
        connection: redis.commands,
        prefix: config.queuePrefix,
        // With tracing on, a job's consumer span continues the trace of whoever queued it.
        telemetry: queueTelemetry(),
      }),
    }),
  ],
  providers: [QueueConnectionErrors],
})
export class QueueModule {}
