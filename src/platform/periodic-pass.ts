import { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

/**
 * Work done every `intervalMs` in this process (a relay, a sweep): concurrent calls of runOnce() share the
 * pass in flight, a failed pass is logged (its name only, never its values) and the next one tries again, and
 * shutting down waits for the pass in hand. The timer does not keep the process alive.
 */
export abstract class PeriodicPass implements OnApplicationBootstrap, OnModuleDestroy {
  protected readonly logger = new Logger(this.constructor.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  protected abstract readonly intervalMs: number;
  protected abstract pass(): Promise<unknown>;

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; concurrent calls share it. */
  runOnce(): Promise<void> {
    this.running ??= this.pass()
      .then(() => undefined)
      .catch((error: unknown) =>
        this.logger.debug({ msg: 'periodic pass skipped', pass: this.constructor.name, error: (error as Error)?.name }),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
