import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Queue } from 'bullmq';

/**
 * Every registered BullMQ queue gets an 'error' listener: without one BullMQ prints each reconnection
 * failure to the console. Reported once every few seconds per queue; readiness reports Redis anyway.
 */
@Injectable()
export class QueueConnectionErrors implements OnApplicationBootstrap {
  private readonly logger = new Logger('Queue');

  constructor(private readonly discovery: DiscoveryService) {}

  onApplicationBootstrap(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const queue: unknown = wrapper.isDependencyTreeStatic() ? wrapper.instance : undefined;
      if (!(queue instanceof Queue) || queue.listenerCount('error') > 0) continue;
      let last = 0;
      queue.on('error', (error: Error) => {
        const now = Date.now();
        if (now - last < 5000) return;
        last = now;
        this.logger.warn({
          msg: 'queue lost its Redis connection; reconnecting',
          queue: queue.name,
          error: error.message,
        });
      });
    }
  }
}
