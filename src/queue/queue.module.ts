import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { BacklogMonitor } from './backlog-monitor';
import { EnqueueRelay } from './enqueue-relay';
import { InboundEventProducer } from './inbound-event.producer';
import { QueueConnectionErrors } from './queue-connection-errors';
import { QueueName } from './queue-names';
import { redisConnection } from './redis-connection';

/** BullMQ's connection, the queues, the webhook path's fail-fast producer, its relay, and the backlog monitor. */
@Global()
@Module({
  imports: [
    DiscoveryModule,
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: redisConnection(config, { failFast: false }),
        prefix: config.queuePrefix,
      }),
    }),
    BullModule.registerQueue({ name: QueueName.InboundEvents }),
  ],
  providers: [InboundEventProducer, EnqueueRelay, BacklogMonitor, QueueConnectionErrors],
  exports: [BullModule, InboundEventProducer, EnqueueRelay, BacklogMonitor],
})
export class QueueModule {}
