import { Injectable } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { OperationBatch, OperationKind, OperationRun, OperationStatus } from '../../platform/operations/operation-kind';
import { DeliveryDispatcher } from './delivery.dispatcher';
import { DeliveryRepository, RetryFilter } from './delivery.repository';

const BATCH = 500;

/**
 * Bulk retry of outbound deliveries by filter (endpoint, status, event type, time range): the
 * `POST /admin/deliveries/retry` and `POST /endpoints/:id/recover` operations. A batch resets its
 * deliveries and queues them; run again after a crash it re-queues the ones it had reset (same job ids).
 */
@Injectable()
export class DeliveryRetryOperation extends OperationKind<RetryFilter> {
  readonly name = 'deliveries.retry';

  constructor(
    private readonly deliveries: DeliveryRepository,
    private readonly dispatcher: DeliveryDispatcher,
    private readonly audit: AuditService,
  ) {
    super();
  }

  count(filter: RetryFilter): Promise<number> {
    return this.deliveries.countRetryable(filter);
  }

  async runBatch(filter: RetryFilter, cursor: string | null, run: OperationRun): Promise<OperationBatch> {
    const batch = await this.deliveries.requeueMatching(filter, cursor ?? '0', BATCH, run.resumed);
    await this.dispatcher.enqueue(batch.deliveries);
    return {
      done: batch.deliveries.length,
      failed: batch.locked,
      cursor: batch.scanned < BATCH || batch.lastId === null ? null : batch.lastId,
    };
  }

  override async started(run: OperationRun, filter: RetryFilter, total: number): Promise<void> {
    await this.audit
      .record({
        action: AuditAction.OutboundDeliveriesRequeued,
        outcome: 'info',
        provider: 'outbound',
        actor: run.actor,
        metadata: { operationId: run.id, ...filter, matched: total },
      })
      .catch(() => undefined);
  }

  override async finished(run: OperationRun, status: OperationStatus, done: number): Promise<void> {
    await this.audit
      .record({
        action: AuditAction.OutboundDeliveriesRequeued,
        outcome: status === 'completed' ? 'success' : status === 'cancelled' ? 'info' : 'failure',
        provider: 'outbound',
        actor: run.actor,
        metadata: { operationId: run.id, status, count: done },
      })
      .catch(() => undefined);
  }
}
