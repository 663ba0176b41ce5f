import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AppConfig } from '../config/app-config';
import { BacklogMonitor } from '../../inbound/queue/backlog-monitor';
import { EnqueueRelay } from '../../inbound/queue/enqueue-relay';
import { InboundEventProducer } from '../../inbound/queue/inbound-event.producer';
import { QueueConnectionErrors } from './queue-connection-errors';
import { QueueName } from './queue-names';
import { redisConnection } from '../redis/redis-connection';

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
