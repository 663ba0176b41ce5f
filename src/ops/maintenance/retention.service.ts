import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { AppConfig } from '../../platform/config/app-config';
import { RetentionRepository } from './retention.repository';

const DAY_MS = 24 * 3600 * 1000;

export interface RetentionCounts {
  /** webhook_receipts.body set to NULL */
  receiptBodies: number;
  /** inbound_events.payload set to NULL (processed, and dead-lettered past the dead-letter period) */
  eventPayloads: number;
  /** messages.content set to NULL */
  messageContent: number;
  deadLetters: number;
  auditEntries: number;
  /** outbound attempts, finished deliveries and events without deliveries left */
  outboundRows: number;
  /** finished durable operations */
  operations: number;
}

export interface RetentionReport {
  trigger: 'schedule' | 'on_demand';
  startedAt: string;
  durationMs: number;
  /** The retention periods applied, in days. */
  days: { raw: number; messages: number; deadLetters: number; audit: number; outbound: number; operations: number };
  counts: RetentionCounts;
  /** True when the process began shutting down mid-run: the counts are partial, the next run carries on. */
  interrupted: boolean;
}

/**
 * Applies the retention periods: raw bodies and processed payloads after RAW_RETENTION_DAYS, message
 * text after MESSAGE_RETENTION_DAYS, dead letters after DLQ_RETENTION_DAYS, audit entries after
 * AUDIT_RETENTION_DAYS, outbound events with their deliveries and attempts after OUTBOUND_RETENTION_DAYS,
 * finished operations after OPERATION_RETENTION_DAYS. Runs in batches, each its own short transaction; safe to run twice at once.
 */
@Injectable()
export class RetentionService implements BeforeApplicationShutdown {
  private readonly logger = new Logger(RetentionService.name);
  /** Rows per batch (and so per transaction). */
  batchSize = 5000;
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly repository: RetentionRepository,
    private readonly audit: AuditService,
  ) {}

  async run(options: { actor: string; trigger: RetentionReport['trigger'] }): Promise<RetentionReport> {
    const started = Date.now();
    const days = {
      raw: this.config.retention.rawDays,
      messages: this.config.retention.messageDays,
      deadLetters: this.config.deadLetters.retentionDays,
      audit: this.config.auditRetentionDays,
      outbound: this.config.retention.outboundDays,
      operations: this.config.retention.operationDays,
    };
    const cutoff = (d: number) => new Date(started - d * DAY_MS);
    const counts: RetentionCounts = {
      receiptBodies: 0,
      eventPayloads: 0,
      messageContent: 0,
      deadLetters: 0,
      auditEntries: 0,
      outboundRows: 0,
      operations: 0,
    };
    const steps: [keyof RetentionCounts, (limit: number) => Promise<number>][] = [
      ['receiptBodies', (limit) => this.repository.clearReceiptBodies(cutoff(days.raw), limit)],
      ['receiptBodies', (limit) => this.repository.clearFailedReceiptBodies(cutoff(days.deadLetters), limit)],
      ['eventPayloads', (limit) => this.repository.clearProcessedPayloads(cutoff(days.raw), limit)],
      ['eventPayloads', (limit) => this.repository.clearFailedPayloads(cutoff(days.deadLetters), limit)],
      ['messageContent', (limit) => this.repository.clearMessageContent(cutoff(days.messages), limit)],
      ['deadLetters', (limit) => this.repository.deleteDeadLetters(cutoff(days.deadLetters), limit)],
      ['auditEntries', (limit) => this.repository.deleteAuditEntries(cutoff(days.audit), limit)],
      ['outboundRows', (limit) => this.repository.deleteOutboundAttempts(cutoff(days.outbound), limit)],
      ['outboundRows', (limit) => this.repository.deleteOutboundDeliveries(cutoff(days.outbound), limit)],
      ['outboundRows', (limit) => this.repository.deleteOutboundEvents(cutoff(days.outbound), limit)],
      ['operations', (limit) => this.repository.deleteFinishedOperations(cutoff(days.operations), limit)],
    ];

    const report = (): RetentionReport => ({
      trigger: options.trigger,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      days,
      counts,
      interrupted: this.stopping,
    });
    try {
      for (const [target, step] of steps) {
        for (;;) {
          if (this.stopping) break;
          const changed = await step(this.batchSize);
          counts[target] += changed;
          if (changed < this.batchSize) break;
        }
      }
    } catch (error) {
      const failed = report();
      this.logger.error({ msg: 'retention run failed', ...failed, error: (error as Error)?.name });
      await this.audit
        .record({
          action: AuditAction.RetentionRun,
          outcome: 'failure',
          actor: options.actor,
          metadata: { ...failed, error: (error as Error)?.name ?? 'error' },
        })
        .catch(() => undefined);
      throw error;
    }

    const done = report();
    await this.audit.record({
      action: AuditAction.RetentionRun,
      outcome: 'success',
      actor: options.actor,
      metadata: { ...done },
    });
    this.logger.log({ msg: 'retention run finished', ...done });
    return done;
  }

  /** Stop between batches, so a shutdown never waits for a long run (each batch is already committed). */
  beforeApplicationShutdown(): void {
    this.stopping = true;
  }
}
