import { Injectable } from '@nestjs/common';
import { AppConfig } from '../platform/config/app-config';
import { PeriodicPass } from '../platform/periodic-pass';
import { MessagesService } from './messages.service';
import { OutgoingMessageRepository } from './outgoing-message.repository';

/** In the workers, on the relay's schedule: queues the messages whose job never reached Redis. */
@Injectable()
export class MessageRelay extends PeriodicPass {
  constructor(
    private readonly config: AppConfig,
    private readonly repository: OutgoingMessageRepository,
    private readonly messages: MessagesService,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return this.config.relayIntervalMs;
  }

  protected async pass(): Promise<void> {
    const ids = await this.repository.unqueued(this.config.relayGraceMs, 500);
    if (ids.length > 0) await this.messages.enqueue(ids);
  }
}
