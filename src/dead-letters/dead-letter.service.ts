import { Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../audit/audit-actions';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../platform/auth/api-key';
import { DataCipher, sealedIn } from '../platform/crypto/data-cipher';
import { AppConfig } from '../platform/config/app-config';
import { OperationError } from '../platform/operations/operation.errors';
import { OperationRecord } from '../platform/operations/operation-record';
import { Operations } from '../platform/operations/operations.service';
import { DeadLetterReplayOperation, toReplayFilter } from './dead-letter-replay.operation';
import { DeadLetterAlert } from './dead-letter-alert';
import { DeadLetterError } from './dead-letter.errors';
import { DeadLetterReplayer, ReplyWindow } from './dead-letter-replayer.port';
import { Clock } from '../platform/clock';
import {
  DeadLetterDetailRecord,
  DeadLetterFilter,
  DeadLetterPosition,
  DeadLetterRecord,
  DeadLetterRepository,
  SealedDeadLetterContent,
} from './dead-letter.repository';
import { ChannelProviders } from '../providers/channel-providers';
import { payloadOfOnlyEvent } from '../providers/meta/payload-reading';

export interface DeadLetterPage {
  items: DeadLetterRecord[];
  nextCursor: string | null;
}

export interface DeadLetterPayload {
  id: string;
  eventId: string | null;
  receiptId: string | null;
  /** The decrypted event as Meta sent it (null for a dead letter without an event). */
  payload: unknown;
  /** The decrypted raw webhook body, only for a dead letter without an event (a malformed body). */
  receiptBody: string | null;
}

export interface ReplayResult {
  id: string;
  /** The replayed event (the first one, for a malformed body that now yields several). */
  eventId: string | null;
  jobId: string | null;
  eventIds: string[];
}

/** Dead letters a dry run reports one by one (the counts cover all). */
export const DRY_RUN_LETTERS = 1000;

export interface DryRun {
  matched: number;
  skippedReceiptsOnly: number;
  skippedOutbound: number;
  /** Of the letters listed: how many replies would go, need HUMAN_AGENT, are past the window, or are none. */
  windows: { replyable: number; humanAgent: number; windowClosed: number; noReply: number };
  letters: Array<{ id: string; eventId: string; window: ReplyWindow }>;
}

/** A bulk replay as the dead-letter routes show it: a view of its operation. */
export interface BulkReplay {
  operationId: string;
  /** The operation's id, under the name the replay routes have always used. */
  replayId: string;
  status: 'running' | 'finished' | 'cancelled' | 'failed';
  actor: string;
  /** Event dead letters matching when the replay started. */
  matched: number;
  replayed: number;
  /** Malformed-body dead letters in the selection: not replayed in bulk (replay them one by one). */
  skippedReceiptsOnly: number;
  /** Outbound delivery dead letters in the selection: retried through the endpoints API instead. */
  skippedOutbound: number;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
}

/**
 * What an operator can do with dead letters: list, inspect, read the payload (audited every time),
 * replay (one or in bulk, paced, through the DeadLetterReplayer port) and purge (never younger than
 * DLQ_RETENTION_DAYS). Failures are DeadLetterErrors; the controller turns them into HTTP answers.
 */
@Injectable()
export class DeadLetterService {
  private readonly logger = new Logger(DeadLetterService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly deadLetters: DeadLetterRepository,
    private readonly replayer: DeadLetterReplayer,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly alert: DeadLetterAlert,
    private readonly operations: Operations,
    private readonly replayOperation: DeadLetterReplayOperation,
    private readonly providers: ChannelProviders,
    private readonly clock: Clock,
  ) {}

  async list(filter: DeadLetterFilter, cursor: string | undefined, limit: number): Promise<DeadLetterPage> {
    const rows = await this.deadLetters.list(filter, cursor ? decodeCursor(cursor) : null, limit + 1);
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeCursor({ createdAt: last.position, id: last.id }) : null,
    };
  }

  async detail(id: string): Promise<DeadLetterDetailRecord> {
    const record = await this.deadLetters.find(id);
    if (!record) throw new DeadLetterError('not_found', 'no such dead letter');
    return record;
  }

  /**
   * Decrypts the stored content, for a stated reason. The audit entry (the reason, the patient's
   * fingerprint) is committed before anything is opened or returned.
   */
  async payload(id: string, reason: string, actor: Actor): Promise<DeadLetterPayload> {
    const record = await this.detail(id);
    const sealed = await this.deadLetters.sealedContent(id);
    await this.audit.record({
      action: AuditAction.DeadLetterPayloadViewed,
      outcome: 'info',
      provider: record.provider,
      eventId: record.eventId,
      correlationId: record.correlationId,
      actor: actor.name,
      metadata: {
        deadLetterId: id,
        reason,
        ...(sealed?.participantId ? { participant: this.cipher.fingerprint(sealed.participantId) } : {}),
      },
    });
    return {
      id,
      eventId: record.eventId,
      receiptId: record.receiptId,
      payload: this.openPayload(record.provider, record.eventId, sealed),
      receiptBody:
        sealed?.receiptBody && !sealed.payloadInReceipt && sealed.bodyReceiptId
          ? this.cipher.decryptText(sealed.receiptBody, sealedIn('webhook_receipts.body', sealed.bodyReceiptId))
          : null,
    };
  }

  /** The event's payload: its own sealed copy, or (its receipt's only event) read from the receipt's body. */
  private openPayload(
    provider: string | null,
    eventId: string | null,
    sealed: SealedDeadLetterContent | undefined,
  ): unknown {
    if (sealed?.eventPayload && eventId) {
      return this.cipher.decryptJson<unknown>(sealed.eventPayload, sealedIn('inbound_events.payload', eventId));
    }
    const parser = provider ? this.providers.get(provider) : undefined;
    if (!sealed?.payloadInReceipt || !sealed.receiptBody || !sealed.bodyReceiptId || !parser) return null;
    const body = this.cipher.decrypt(sealed.receiptBody, sealedIn('webhook_receipts.body', sealed.bodyReceiptId));
    return payloadOfOnlyEvent(parser, body, (value) => this.cipher.fingerprint(value));
  }

  /** Replays one dead letter: `not_found` when unknown, `conflict` when it is not pending or has no event to replay. */
  async replay(id: string, actor: Actor): Promise<ReplayResult> {
    const record = await this.detail(id);
    if (record.status !== 'pending') {
      throw new DeadLetterError(
        'conflict',
        `this dead letter is ${record.status}; only pending dead letters can be replayed`,
      );
    }
    if (record.deliveryId) {
      throw new DeadLetterError(
        'conflict',
        `an outbound delivery: retry it with POST /endpoints/${record.endpointId}/deliveries/${record.deliveryId}/retry`,
      );
    }
    if (!record.eventId) return this.replayReceipt(record, actor);
    const [replayed] = await this.replayer.replayEvents([id], actor.name, null);
    if (!replayed) throw new DeadLetterError('conflict', 'this dead letter is being replayed by another request');
    this.logger.log({
      msg: 'dead letter replayed',
      deadLetterId: id,
      eventId: replayed.eventId,
      actor: actor.name,
      correlationId: actor.correlationId,
    });
    void this.alert.check().catch(() => undefined);
    return { id, eventId: replayed.eventId, jobId: replayed.jobId, eventIds: [replayed.eventId] };
  }

  /**
   * A malformed body is read again with the provider's parser (which may have learnt its shape since); its
   * events are stored and queued like a new delivery. 409 when it still cannot be read.
   */
  private async replayReceipt(record: DeadLetterDetailRecord, actor: Actor): Promise<ReplayResult> {
    const sealed = await this.deadLetters.sealedContent(record.id);
    if (!record.receiptId || !record.provider || !sealed?.receiptBody) {
      throw new DeadLetterError('conflict', 'this dead letter holds no event and no readable webhook body to replay');
    }
    const insertedIds = await this.replayer.replayReceipt(
      {
        id: record.id,
        receiptId: record.receiptId,
        provider: record.provider,
        correlationId: record.correlationId,
        sealedBody: sealed.receiptBody,
      },
      actor.name,
    );
    if (!insertedIds) throw new DeadLetterError('conflict', 'this dead letter is being replayed by another request');
    this.logger.log({
      msg: 'malformed webhook replayed',
      deadLetterId: record.id,
      events: insertedIds.length,
      actor: actor.name,
      correlationId: actor.correlationId,
    });
    void this.alert.check().catch(() => undefined);
    const [first] = insertedIds;
    return { id: record.id, eventId: first ?? null, jobId: first ?? null, eventIds: insertedIds };
  }

  /** What a bulk replay would take: pending dead letters matching the selection. */
  async countReplayable(
    filter: DeadLetterFilter,
  ): Promise<{ matched: number; skippedReceiptsOnly: number; skippedOutbound: number }> {
    const { events, receiptsOnly, outbound } = await this.deadLetters.count({ ...filter, status: 'pending' });
    return { matched: events, skippedReceiptsOnly: receiptsOnly, skippedOutbound: outbound };
  }

  /**
   * A dry run: the count, and per dead letter (the first DRY_RUN_LETTERS) whether its reply would still go out
   * now, needs a person with the HUMAN_AGENT tag, or has a closed window (a replay skips it: `window_closed`).
   */
  async dryRun(filter: DeadLetterFilter): Promise<DryRun> {
    const counts = await this.countReplayable(filter);
    const letters = await this.deadLetters.eventLetters({ ...filter, status: 'pending' }, DRY_RUN_LETTERS);
    const windows = await this.replayer.replyWindows(
      letters.map((letter) => letter.eventId),
      this.clock.now(),
    );
    const listed = letters.map((letter) => ({ ...letter, window: windows.get(letter.eventId) ?? 'no_reply' }));
    const tally = (window: ReplyWindow) => listed.filter((letter) => letter.window === window).length;
    return {
      ...counts,
      windows: {
        replyable: tally('replyable'),
        humanAgent: tally('human_agent'),
        windowClosed: tally('window_closed'),
        noReply: tally('no_reply'),
      },
      letters: listed,
    };
  }

  /** Starts a paced bulk replay (a durable operation, run by a worker) and returns at once. */
  async startBulkReplay(filter: DeadLetterFilter, actor: Actor): Promise<BulkReplay> {
    const replayFilter = toReplayFilter(filter, new Date());
    const { skippedReceiptsOnly, skippedOutbound } = await this.countReplayable({
      ...filter,
      to: new Date(replayFilter.to),
    });
    const operation = await this.operations.start(this.replayOperation, replayFilter, actor.name);
    return bulkReplayView(operation, { skippedReceiptsOnly, skippedOutbound });
  }

  /** A bulk replay's progress, from any instance (`not_found` for an id that is no bulk replay). */
  async bulkReplay(replayId: string): Promise<BulkReplay> {
    const operation = await this.operations.get(replayId).catch((error: unknown) => {
      if (error instanceof OperationError) return undefined;
      throw error;
    });
    if (!operation || operation.kind !== this.replayOperation.name) {
      throw new DeadLetterError('not_found', 'no such bulk replay');
    }
    return bulkReplayView(operation, { skippedReceiptsOnly: 0, skippedOutbound: 0 });
  }

  /** Deletes dead letters created before `olderThan`, but never younger than DLQ_RETENTION_DAYS. */
  async purge(
    olderThan: Date,
    actor: Actor,
  ): Promise<{ deleted: number; cutoff: Date; retentionDays: number; clampedToRetention: boolean }> {
    const retentionDays = this.config.deadLetters.retentionDays;
    const retentionLimit = new Date(Date.now() - retentionDays * 24 * 3600 * 1000);
    const clampedToRetention = olderThan > retentionLimit;
    const cutoff = clampedToRetention ? retentionLimit : olderThan;
    const deleted = await this.deadLetters.purgeCreatedBefore(cutoff);
    await this.audit.record({
      action: AuditAction.DeadLetterPurged,
      outcome: 'success',
      actor: actor.name,
      metadata: { deleted, cutoff: cutoff.toISOString(), requestedOlderThan: olderThan.toISOString(), retentionDays },
    });
    this.logger.log({
      msg: 'dead letters purged',
      deleted,
      cutoff: cutoff.toISOString(),
      actor: actor.name,
      correlationId: actor.correlationId,
    });
    void this.alert.check().catch(() => undefined);
    return { deleted, cutoff, retentionDays, clampedToRetention };
  }
}

export function encodeCursor(position: DeadLetterPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): DeadLetterPosition {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof createdAt === 'string' &&
      !Number.isNaN(Date.parse(createdAt)) &&
      typeof id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(id)
    ) {
      return { createdAt, id };
    }
  } catch {
    // fall through
  }
  throw new DeadLetterError('invalid', 'invalid cursor');
}

const BULK_REPLAY_STATUS = {
  running: 'running',
  completed: 'finished',
  cancelled: 'cancelled',
  failed: 'failed',
} as const;

function bulkReplayView(
  operation: OperationRecord,
  skipped: { skippedReceiptsOnly: number; skippedOutbound: number },
): BulkReplay {
  return {
    operationId: operation.id,
    replayId: operation.id,
    status: BULK_REPLAY_STATUS[operation.status],
    actor: operation.actor,
    matched: operation.total,
    replayed: operation.done,
    ...skipped,
    startedAt: operation.createdAt,
    finishedAt: operation.finishedAt,
    error: operation.error,
  };
}
