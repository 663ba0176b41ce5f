import { Injectable } from '@nestjs/common';
import { AccountDirectory } from '../../accounts/account-directory';
import { HeldReplies } from '../../inbound/holds/held-replies';
import { Clock } from '../../platform/clock';
import { MetricsService } from '../../platform/metrics/metrics.service';

const DAY_MS = 24 * 3600 * 1000;
/**
 * Per-account series are bounded: a clinic has a handful of accounts. Past this many, the ones with the
 * most held replies and the soonest expiry are reported (what an alert needs), the rest left out.
 */
export const MAX_ACCOUNT_SERIES = 200;

export interface AccountSummary {
  held: number;
  paused: number;
  needsToken: number;
}

/** The accounts' gauges (refreshed on each scrape) and the summary /health/ready shows. */
@Injectable()
export class AccountFigures {
  constructor(
    private readonly directory: AccountDirectory,
    private readonly held: HeldReplies,
    private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {
    metrics.onScrape(() => this.refreshGauges());
  }

  async summary(): Promise<AccountSummary> {
    const [accounts, held] = await Promise.all([this.directory.list(), this.held.countsByAccount()]);
    return {
      held: held.reduce((sum, count) => sum + count.held, 0),
      paused: accounts.filter((account) => account.status === 'paused').length,
      needsToken: accounts.filter((account) => account.status === 'needs_token').length,
    };
  }

  private async refreshGauges(): Promise<void> {
    const [accounts, held] = await Promise.all([this.directory.list(), this.held.countsByAccount()]);
    const now = this.clock.now().getTime();
    const rows = new Map<
      string,
      { provider: string; account_id: string; held: number; days: number | null; needsToken: boolean }
    >();
    for (const account of accounts) {
      rows.set(`${account.provider}:${account.accountId}`, {
        provider: account.provider,
        account_id: account.accountId,
        held: 0,
        days: account.hasToken && account.tokenExpiresAt ? (account.tokenExpiresAt.getTime() - now) / DAY_MS : null,
        needsToken: account.status === 'needs_token',
      });
    }
    for (const count of held) {
      const row = rows.get(`${count.provider}:${count.accountId}`);
      if (row) row.held = count.held;
      else
        rows.set(`${count.provider}:${count.accountId}`, {
          provider: count.provider,
          account_id: count.accountId,
          held: count.held,
          days: null,
          needsToken: false,
        });
    }
    const reported = [...rows.values()]
      .sort((a, b) => b.held - a.held || (a.days ?? Infinity) - (b.days ?? Infinity))
      .slice(0, MAX_ACCOUNT_SERIES);
    this.metrics.accountTokenExpiryDays.reset();
    this.metrics.accountNeedsToken.reset();
    this.metrics.accountHeldReplies.reset();
    for (const row of reported) {
      const labels = { provider: row.provider, account_id: row.account_id };
      this.metrics.accountHeldReplies.set(labels, row.held);
      this.metrics.accountNeedsToken.set(labels, row.needsToken ? 1 : 0);
      if (row.days !== null) this.metrics.accountTokenExpiryDays.set(labels, Math.round(row.days * 100) / 100);
    }
  }
}
