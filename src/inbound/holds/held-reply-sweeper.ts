import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { PeriodicPass } from '../../platform/periodic-pass';
import { HeldReplies } from './held-replies';

/**
 * In the workers, on the relay's schedule: releases what a resume or a new token left held (the process
 * that changed the account died before releasing, the account came back through a token refresh or a
 * deletion, or a release's jobs never reached Redis). Cheap when nothing is held: one partial-index scan.
 */
@Injectable()
export class HeldReplySweeper extends PeriodicPass {
  constructor(
    private readonly config: AppConfig,
    private readonly held: HeldReplies,
  ) {
    super();
  }

  protected get intervalMs(): number {
    return this.config.relayIntervalMs;
  }

  protected pass(): Promise<unknown> {
    return this.held.releaseDue();
  }
}
