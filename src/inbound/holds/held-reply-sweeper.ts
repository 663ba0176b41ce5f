import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { HeldReplies } from './held-replies';

/**
 * In the workers, on the relay's schedule: releases what a resume or a new token left held (the process
 * that changed the account died before releasing, the account came back through a token refresh or a
 * deletion, or a release's jobs never reached Redis). Cheap when nothing is held: one partial-index scan.
 */
@Injectable()
export class HeldReplySweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HeldReplySweeper.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly config: AppConfig,
    private readonly held: HeldReplies,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.config.relayIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; concurrent calls share it. */
  runOnce(): Promise<void> {
    this.running ??= this.held
      .releaseDue()
      .then(() => undefined)
      .catch((error: unknown) => this.logger.debug({ msg: 'held-reply sweep skipped', error: (error as Error)?.name }))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
