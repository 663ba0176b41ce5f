import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { QueueFigures } from './queue-figures';

const EVERY_MS = 60_000;

/** Once a minute, one log line with every queue's job counts (the worker's heartbeat for log-based monitoring). */
@Injectable()
export class QueueFiguresLogger implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('QueueFigures');
  private timer?: NodeJS.Timeout;

  constructor(private readonly figures: QueueFigures) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.logOnce(), EVERY_MS);
    this.timer.unref();
  }

  async logOnce(): Promise<void> {
    const queues = await this.figures.countsByQueue();
    this.logger.log({
      msg: 'queue figures',
      queues: Object.fromEntries(queues.map(({ name, counts }) => [name, counts ?? 'redis unavailable'])),
    });
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
