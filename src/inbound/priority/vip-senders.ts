import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../../platform/config/app-config';
import { Sql } from '../../platform/database/sql';

/** The priority stored on a VIP sender's events (inbound_events.priority); 0 for everyone else. */
export const VIP_PRIORITY = 1;
const REFRESH_MS = 30_000;

/**
 * Senders whose events are processed before everyone else's: VIP_SENDER_IDS (any provider) plus the
 * `vip_senders` table (per provider), re-read every 30 s so the webhook path never waits on it.
 */
@Injectable()
export class VipSenders implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(VipSenders.name);
  private readonly configured: ReadonlySet<string>;
  private stored = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    config: AppConfig,
    private readonly db: Sql,
  ) {
    this.configured = new Set(config.vipSenderIds);
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  configuredIds(): string[] {
    return [...this.configured];
  }

  priorityOf(provider: string, senderId: string | null): number {
    if (!senderId) return 0;
    if (this.configured.has(senderId)) return VIP_PRIORITY;
    return this.stored.size > 0 && this.stored.has(`${provider}:${senderId}`) ? VIP_PRIORITY : 0;
  }

  async refresh(): Promise<void> {
    try {
      const rows = await this.db.query<{ key: string }>(`SELECT provider || ':' || sender_id AS key FROM vip_senders`);
      this.stored = new Set(rows.map((row) => row.key));
    } catch (error) {
      this.logger.warn({ msg: 'could not read vip_senders; keeping the previous list', error: (error as Error)?.name });
    }
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
