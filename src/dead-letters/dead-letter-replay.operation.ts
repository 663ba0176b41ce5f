import { Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../audit/audit-actions';
import { AuditService } from '../audit/audit.service';
import { OperationBatch, OperationKind, OperationRun, OperationStatus } from '../platform/operations/operation-kind';
import { DeadLetterAlert } from './dead-letter-alert';
import { DeadLetterReplayer } from './dead-letter-replayer.port';
import { DeadLetterFilter, DeadLetterPosition, DeadLetterRepository } from './dead-letter.repository';

/** Rows per batch of a bulk replay (one statement and one addBulk each). */
export const REPLAY_PAGE = 500;
/** A bulk replay waits while more jobs than this are waiting, so it never floods the queue. */
export const REPLAY_HIGH_WATER = 2000;
const REPLAY_POLL_MS = 250;

/** What a bulk replay covers, as stored on its operation (JSON: dates as ISO strings). */
export interface DeadLetterReplayFilter {
  provider?: string;
  category?: string;
  source?: string;
  from?: string;
  /** Created before this; capped at the start, so letters dead-lettered meanwhile are not replayed with them. */
  to: string;
  ids?: string[];
}

export function toReplayFilter(filter: DeadLetterFilter, startedAt: Date): DeadLetterReplayFilter {
  const to = filter.to && filter.to < startedAt ? filter.to : startedAt;
  return {
    provider: filter.provider,
    category: filter.category,
    source: filter.source,
    from: filter.from?.toISOString(),
    to: to.toISOString(),
    ids: filter.ids ? [...filter.ids] : undefined,
  };
}

function toFilter(filter: DeadLetterReplayFilter): DeadLetterFilter {
  return {
    provider: filter.provider,
    category: filter.category,
    source: filter.source,
    from: filter.from ? new Date(filter.from) : undefined,
    ids: filter.ids,
    status: 'pending',
  };
}

function encodePosition(position: DeadLetterPosition): string {
  return `${position.createdAt}|${position.id}`;
}

function decodePosition(cursor: string | null): DeadLetterPosition | null {
  if (!cursor) return null;
  const [createdAt, id] = cursor.split('|');
  return { createdAt, id };
}

/**
 * The bulk replay of pending event dead letters, paced: it waits while the inbound queue holds more than
 * REPLAY_HIGH_WATER waiting jobs. A batch marks its page replayed and queues it in one statement and one
 * `addBulk`; run again after a crash, it re-queues what it had marked (same job ids) and counts it once.
 */
@Injectable()
export class DeadLetterReplayOperation extends OperationKind<DeadLetterReplayFilter> {
  readonly name = 'dead-letters.replay';
  private readonly logger = new Logger(DeadLetterReplayOperation.name);

  constructor(
    private readonly deadLetters: DeadLetterRepository,
    private readonly replayer: DeadLetterReplayer,
    private readonly audit: AuditService,
    private readonly alert: DeadLetterAlert,
  ) {
    super();
  }

  async count(filter: DeadLetterReplayFilter): Promise<number> {
    return (await this.deadLetters.count({ ...toFilter(filter), to: new Date(filter.to) })).events;
  }

  override async waitBeforeBatch(): Promise<number> {
    return (await this.replayer.waitingJobs()) > REPLAY_HIGH_WATER ? REPLAY_POLL_MS : 0;
  }

  async runBatch(filter: DeadLetterReplayFilter, cursor: string | null, run: OperationRun): Promise<OperationBatch> {
    const page = await this.deadLetters.operationPage(
      toFilter(filter),
      new Date(filter.to),
      decodePosition(cursor),
      run.resumed ? run.createdAt : null,
      REPLAY_PAGE,
    );
    if (page.length === 0) return { done: 0, failed: 0, cursor: null };
    const pending = page.filter((row) => row.status === 'pending').map((row) => row.id);
    const replayed = page.filter((row) => row.status === 'replayed').map((row) => row.id);
    const requeued = await this.replayer.requeueReplayed(replayed);
    const marked = await this.replayer.replayEvents(pending, run.actor, run.id);
    const last = page[page.length - 1];
    void this.alert.check().catch(() => undefined);
    return {
      done: marked.length + requeued,
      // Locked by a replay running at the same moment, or no longer pending when the page got to it.
      failed: pending.length - marked.length,
      cursor: page.length < REPLAY_PAGE ? null : encodePosition({ createdAt: last.position, id: last.id }),
    };
  }

  override async started(run: OperationRun, filter: DeadLetterReplayFilter, total: number): Promise<void> {
    await this.audit
      .record({
        action: AuditAction.DeadLetterBulkReplay,
        outcome: 'info',
        actor: run.actor,
        metadata: { bulkReplayId: run.id, matched: total, filter: { ...filter, ids: filter.ids?.length } },
      })
      .catch(() => undefined);
  }

  override async finished(run: OperationRun, status: OperationStatus, done: number): Promise<void> {
    await this.audit
      .record({
        action: AuditAction.DeadLetterBulkReplay,
        outcome: status === 'completed' ? 'success' : status === 'cancelled' ? 'info' : 'failure',
        actor: run.actor,
        metadata: { bulkReplayId: run.id, status, replayed: done },
      })
      .catch(() => this.logger.warn({ msg: 'could not audit the end of a bulk replay', bulkReplayId: run.id }));
    void this.alert.check().catch(() => undefined);
  }
}
