import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { MessagesService } from './messages.service';
import { OutgoingMessageRepository } from './outgoing-message.repository';

/** In the workers, on the relay's schedule: queues the messages whose job never reached Redis. */
@Injectable()
export class MessageRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(MessageRelay.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: OutgoingMessageRepository,
    private readonly messages: MessagesService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.relayIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  runOnce(): Promise<void> {
    this.running ??= this.repository
      .unqueued(this.config.relayGraceMs, 500)
      .then((ids) => (ids.length > 0 ? this.messages.enqueue(ids) : undefined))
      .catch((error: unknown) => this.logger.debug({ msg: 'message relay skipped', error: (error as Error)?.name }))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
