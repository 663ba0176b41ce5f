import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

type ScrapeHook = () => Promise<void>;

/**
 * This process's Prometheus metrics, on a registry of its own (never prom-client's global one: tests run
 * several apps in one process). Gauges that need I/O are refreshed by hooks run on each scrape.
 */
@Injectable()
export class MetricsService {
  private readonly logger = new Logger(MetricsService.name);
  readonly registry = new Registry();
  private readonly scrapeHooks: ScrapeHook[] = [];

  readonly webhooksReceived = new Counter({
    name: 'switchboard_webhooks_received_total',
    help: 'Webhook POSTs received, before signature verification',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly webhooksAccepted = new Counter({
    name: 'switchboard_webhooks_accepted_total',
    help: 'Webhook POSTs stored durably and acknowledged',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly webhooksRejected = new Counter({
    name: 'switchboard_webhooks_rejected_total',
    help: 'Webhook POSTs refused for a missing or wrong signature',
    labelNames: ['provider', 'reason'] as const,
    registers: [this.registry],
  });
  readonly webhooksDuplicate = new Counter({
    name: 'switchboard_webhooks_duplicate_total',
    help: 'Events in acknowledged webhooks that had been received before (idempotency hits)',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly eventsReceived = new Counter({
    name: 'switchboard_events_received_total',
    help: 'New events stored from webhooks',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly processingDuration = new Histogram({
    name: 'switchboard_event_processing_duration_seconds',
    help: 'Time to process one attempt of one inbound event',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly processingAttempts = new Counter({
    name: 'switchboard_event_attempts_total',
    help: 'Processing attempts of inbound events',
    labelNames: ['provider'] as const,
    registers: [this.registry],
  });
  readonly processingFailures = new Counter({
    name: 'switchboard_event_failures_total',
    help: 'Failed processing attempts by failure category; final="true" when the event was dead-lettered',
    labelNames: ['category', 'final'] as const,
    registers: [this.registry],
  });
  readonly repliesSkipped = new Counter({
    name: 'switchboard_replies_skipped_total',
    help: 'Auto-replies the conversation policy skipped, by reason (handoff, window_closed, cooldown, after_hours_disabled, …)',
    labelNames: ['provider', 'reason'] as const,
    registers: [this.registry],
  });
  readonly deadLettersPending = new Gauge({
    name: 'switchboard_dead_letters_pending',
    help: 'Dead letters waiting for an operator (status pending)',
    registers: [this.registry],
  });
  readonly deadLetterAlert = new Gauge({
    name: 'switchboard_dead_letters_alert',
    help: '1 while pending dead letters are at or above DLQ_ALERT_THRESHOLD',
    registers: [this.registry],
  });
  readonly deadLetterAlertThreshold = new Gauge({
    name: 'switchboard_dead_letters_alert_threshold',
    help: 'DLQ_ALERT_THRESHOLD',
    registers: [this.registry],
  });
  readonly queueJobs = new Gauge({
    name: 'switchboard_queue_jobs',
    help: 'Jobs per queue and state (read from Redis on each scrape)',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });
  readonly sendApiDuration = new Histogram({
    name: 'switchboard_send_api_duration_seconds',
    help: 'Send API request latency, per provider',
    labelNames: ['provider', 'status'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  /* Per account: a clinic has a handful of accounts; ops/metrics/account-figures.ts bounds the series. */
  readonly accountTokenExpiryDays = new Gauge({
    name: 'switchboard_account_token_expiry_days',
    help: 'Days until the account token expires (accounts with a token of their own and a known expiry)',
    labelNames: ['provider', 'account_id'] as const,
    registers: [this.registry],
  });
  readonly accountNeedsToken = new Gauge({
    name: 'switchboard_account_needs_token',
    help: '1 while the Graph API refuses the account token and its sends are held',
    labelNames: ['provider', 'account_id'] as const,
    registers: [this.registry],
  });
  readonly accountHeldReplies = new Gauge({
    name: 'switchboard_account_held_replies',
    help: 'Replies held for the account (paused, or needing a token)',
    labelNames: ['provider', 'account_id'] as const,
    registers: [this.registry],
  });
  readonly accountTokenRefreshFailures = new Counter({
    name: 'switchboard_account_token_refresh_failures_total',
    help: 'Account token refreshes Meta refused or did not answer, by failure category',
    labelNames: ['provider', 'category'] as const,
    registers: [this.registry],
  });

  /** Runs `hook` before each scrape (e.g. to read counts from Redis or Postgres). */
  onScrape(hook: ScrapeHook): void {
    this.scrapeHooks.push(hook);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    const results = await Promise.allSettled(this.scrapeHooks.map((hook) => hook()));
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) this.logger.warn({ msg: 'some gauges could not be refreshed for this scrape', failed });
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
