import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Sql } from '../../platform/database/sql';
import { BacklogMonitor } from '../../inbound/queue/backlog-monitor';
import { RedisConnections } from '../../platform/redis/redis-connections';
import { withTimeout } from '../../platform/time/within';
import { AccountFigures } from '../metrics/account-figures';

const PROBE_TIMEOUT_MS = 1500;

/** Terminus indicators for the two dependencies a Switchboard process cannot work without. */
@Injectable()
export class DependencyHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly db: Sql,
    private readonly redisConnections: RedisConnections,
    private readonly backlogMonitor: BacklogMonitor,
    private readonly accountFigures: AccountFigures,
  ) {}

  /** Flood protection: always up (events are still stored), with `degraded` while new ones are held back. */
  backlog() {
    return this.indicators.check('backlog').up({ ...this.backlogMonitor.state() });
  }

  /** Always up (held replies wait on purpose): how many replies are held, and the accounts that hold them. */
  async accounts() {
    const check = this.indicators.check('accounts');
    try {
      return check.up({ ...(await withTimeout(this.accountFigures.summary(), PROBE_TIMEOUT_MS)) });
    } catch {
      return check.up({ held: null });
    }
  }

  get degraded(): boolean {
    return this.backlogMonitor.degraded;
  }

  async postgres() {
    const check = this.indicators.check('postgres');
    try {
      await withTimeout(this.db.query('SELECT 1'), PROBE_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  async redis() {
    const check = this.indicators.check('redis');
    try {
      await withTimeout(this.redisConnections.commands.ping(), PROBE_TIMEOUT_MS);
      return check.up();
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }

  /** True when the queue's Redis connection is up right now (no round trip). */
  async redisConnected(): Promise<boolean> {
    return this.redisConnections.commands.status === 'ready';
  }
}
