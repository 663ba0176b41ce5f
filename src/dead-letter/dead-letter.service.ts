import {
  BadRequestException,
  ConflictException,
  Injectable,
  Logger,
  NotFoundException,
  OnModuleDestroy,
  ServiceUnavailableException,
} from '@nestjs/common';
import { AuditAction } from '../audit/audit-actions';
import { AuditService } from '../audit/audit.service';
import { Actor } from '../auth/api-key';
import { DataCipher } from '../common/data-cipher';
import { uuidv7 } from '../common/ids';
import { AppConfig } from '../config/app-config';
import { EventToStore } from '../idempotency/inbound-event.repository';
import { InboundEventProducer } from '../queue/inbound-event.producer';
import { readWebhookBody } from '../webhooks/webhook-body';
import { INBOUND_PROVIDERS } from '../webhooks/inbound-providers';
import { DeadLetterAlert } from './dead-letter-alert';
import {
  DeadLetterDetailRecord,
  DeadLetterFilter,
  DeadLetterPosition,
  DeadLetterRecord,
  DeadLetterRepository,
  ReplayedLetter,
} from './dead-letter.repository';

/** Rows per page of a bulk replay (one statement and one addBulk each). */
export const REPLAY_PAGE = 500;
/** A bulk replay waits while more jobs than this are waiting, so it never floods the queue. */
export const REPLAY_HIGH_WATER = 2000;
const REPLAY_POLL_MS = 250;

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

export interface BulkReplay {
  replayId: string;
  status: 'running' | 'finished' | 'failed';
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
 * replay (one or in bulk, paced) and purge (never younger than DLQ_RETENTION_DAYS).
 * A replay sends the event back through the normal processor and its idempotency: a reply already sent is
 * never sent again.
 */
@Injectable()
export class DeadLetterService implements OnModuleDestroy {
  private readonly logger = new Logger(DeadLetterService.name);
  private readonly bulkReplays = new Map<string, BulkReplay>();
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly config: AppConfig,
    private readonly deadLetters: DeadLetterRepository,
    private readonly producer: InboundEventProducer,
    private readonly cipher: DataCipher,
    private readonly audit: AuditService,
    private readonly alert: DeadLetterAlert,
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
    if (!record) throw new NotFoundException('no such dead letter');
    return record;
  }

  /** Decrypts the stored content. The audit entry is committed before anything is returned. */
  async payload(id: string, actor: Actor): Promise<DeadLetterPayload> {
    const record = await this.detail(id);
    const sealed = await this.deadLetters.sealedContent(id);
    await this.audit.record({
      action: AuditAction.DeadLetterPayloadViewed,
      outcome: 'info',
      provider: record.provider,
      eventId: record.eventId,
      correlationId: record.correlationId,
      actor: actor.name,
      metadata: { deadLetterId: id },
    });
    return {
      id,
      eventId: record.eventId,
      receiptId: record.receiptId,
      payload: sealed?.eventPayload ? this.cipher.decryptJson<unknown>(sealed.eventPayload) : null,
      receiptBody: sealed?.receiptBody ? this.cipher.decryptText(sealed.receiptBody) : null,
    };
  }

  /** Replays one dead letter: 404 when unknown, 409 when it is not pending or has no event to replay. */
  async replay(id: string, actor: Actor): Promise<ReplayResult> {
    const record = await this.detail(id);
    if (record.status !== 'pending') {
      throw new ConflictException(`this dead letter is ${record.status}; only pending dead letters can be replayed`);
    }
    if (record.deliveryId) {
      throw new ConflictException(
        `an outbound delivery: retry it with POST /endpoints/${record.endpointId}/deliveries/${record.deliveryId}/retry`,
      );
    }
    if (!record.eventId) return this.replayReceipt(record, actor);
    const [replayed] = await this.deadLetters.markReplayed([id], actor.name, null);
    if (!replayed) throw new ConflictException('this dead letter is being replayed by another request');
    const [jobId] = await this.enqueue([replayed], actor.name);
    this.logger.log({
      msg: 'dead letter replayed',
      deadLetterId: id,
      eventId: replayed.eventId,
      actor: actor.name,
      correlationId: actor.correlationId,
    });
    void this.alert.check().catch(() => undefined);
    return { id, eventId: replayed.eventId, jobId, eventIds: [replayed.eventId] };
  }

  /**
   * A malformed body is read again with the provider's parser (which may have learnt its shape since); its
   * events are stored and queued like a new delivery. 409 when it still cannot be read.
   */
  private async replayReceipt(record: DeadLetterDetailRecord, actor: Actor): Promise<ReplayResult> {
    const provider = INBOUND_PROVIDERS.get(record.provider ?? '');
    const sealed = await this.deadLetters.sealedContent(record.id);
    if (!record.receiptId || !provider || !sealed?.receiptBody) {
      throw new ConflictException('this dead letter holds no event and no readable webhook body to replay');
    }
    const body = readWebhookBody(provider, this.cipher.decrypt(sealed.receiptBody), this.cipher);
    if (body.parseError) {
      throw new ConflictException(
        `the stored webhook body still cannot be read (${body.parseError}); there is no event to replay`,
      );
    }
    const events: EventToStore[] = body.events.map((event) => ({ ...event, id: uuidv7() }));
    const result = await this.deadLetters.replayReceipt(
      { id: record.id, receiptId: record.receiptId, provider: provider.name, correlationId: record.correlationId },
      events,
      actor.name,
    );
    if (!result) throw new ConflictException('this dead letter is being replayed by another request');
    // New events: job id = event id, and the relay enqueues them if Redis refuses now.
    await this.producer
      .addAndMark(result.insertedIds.map((eventId) => ({ id: eventId, priority: 0 })))
      .catch(() => this.logger.warn({ msg: 'replayed events left for the relay to enqueue', deadLetterId: record.id }));
    this.logger.log({
      msg: 'malformed webhook replayed',
      deadLetterId: record.id,
      events: result.insertedIds.length,
      actor: actor.name,
      correlationId: actor.correlationId,
    });
    void this.alert.check().catch(() => undefined);
    const [first] = result.insertedIds;
    return { id: record.id, eventId: first ?? null, jobId: first ?? null, eventIds: result.insertedIds };
  }

  /** What a bulk replay would take: pending dead letters matching the selection. */
  async countReplayable(
    filter: DeadLetterFilter,
  ): Promise<{ matched: number; skippedReceiptsOnly: number; skippedOutbound: number }> {
    const { events, receiptsOnly, outbound } = await this.deadLetters.count({ ...filter, status: 'pending' });
    return { matched: events, skippedReceiptsOnly: receiptsOnly, skippedOutbound: outbound };
  }

  /** Starts a paced bulk replay in the background and returns at once. */
  async startBulkReplay(filter: DeadLetterFilter, actor: Actor): Promise<BulkReplay> {
    const startedAt = new Date();
    const { matched, skippedReceiptsOnly, skippedOutbound } = await this.countReplayable({
      ...filter,
      to: minDate(filter.to, startedAt),
    });
    const replay: BulkReplay = {
      replayId: uuidv7(),
      status: 'running',
      actor: actor.name,
      matched,
      replayed: 0,
      skippedReceiptsOnly,
      skippedOutbound,
      startedAt,
      finishedAt: null,
      error: null,
    };
    this.bulkReplays.set(replay.replayId, replay);
    await this.audit.record({
      action: AuditAction.DeadLetterBulkReplay,
      outcome: 'info',
      actor: actor.name,
      metadata: { bulkReplayId: replay.replayId, matched, filter: describeFilter(filter) },
    });
    const work = this.runBulkReplay(replay, filter)
      .catch((error: unknown) => {
        replay.status = 'failed';
        replay.error = error instanceof Error ? error.name : 'error';
        this.logger.error({ msg: 'bulk replay stopped', bulkReplayId: replay.replayId, replayed: replay.replayed });
      })
      .finally(() => {
        replay.finishedAt = new Date();
        this.running.delete(work);
        void this.alert.check().catch(() => undefined);
      });
    this.running.add(work);
    return replay;
  }

  bulkReplay(replayId: string): BulkReplay {
    const replay = this.bulkReplays.get(replayId);
    if (!replay) throw new NotFoundException('no such bulk replay on this instance');
    return replay;
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

  private async runBulkReplay(replay: BulkReplay, filter: DeadLetterFilter): Promise<void> {
    let after: DeadLetterPosition | null = null;
    while (!this.stopping) {
      await this.waitForQueueRoom();
      if (this.stopping) break;
      const page = await this.deadLetters.replayablePage(filter, replay.startedAt, after, REPLAY_PAGE);
      if (page.length === 0) break;
      const last = page[page.length - 1];
      after = { createdAt: last.position, id: last.id };
      const replayed = await this.deadLetters.markReplayed(
        page.map((row) => row.id),
        replay.actor,
        replay.replayId,
      );
      await this.enqueue(replayed, replay.actor);
      replay.replayed += replayed.length;
      if (page.length < REPLAY_PAGE) break;
    }
    replay.status = this.stopping ? 'failed' : 'finished';
    if (this.stopping) replay.error = 'interrupted by shutdown';
    await this.audit.record({
      action: AuditAction.DeadLetterBulkReplay,
      outcome: replay.status === 'finished' ? 'success' : 'failure',
      actor: replay.actor,
      metadata: { bulkReplayId: replay.replayId, matched: replay.matched, replayed: replay.replayed },
    });
    this.logger.log({ msg: 'bulk replay finished', bulkReplayId: replay.replayId, replayed: replay.replayed });
  }

  private async waitForQueueRoom(): Promise<void> {
    while (!this.stopping) {
      const counts = await this.producer.queue.getJobCounts('waiting', 'prioritized');
      if ((counts.waiting ?? 0) + (counts.prioritized ?? 0) <= REPLAY_HIGH_WATER) return;
      await new Promise((resolve) => setTimeout(resolve, REPLAY_POLL_MS));
    }
  }

  /**
   * New job ids (`<event>-replay-<n>`): the failed job keeps the event's id in BullMQ. If Redis refuses
   * the add, the replay is undone (the letters are pending again) and the caller gets a 503.
   */
  private async enqueue(letters: readonly ReplayedLetter[], actor: string): Promise<string[]> {
    const jobs = letters.map((letter) => ({
      id: letter.eventId,
      priority: letter.priority,
      jobId: `${letter.eventId}-replay-${letter.replayCount}`,
    }));
    try {
      await this.producer.addJobs(jobs);
    } catch {
      await this.deadLetters.revertReplay(letters, actor);
      throw new ServiceUnavailableException('the queue (Redis) is unavailable: nothing was replayed; try again later');
    }
    return jobs.map((job) => job.jobId);
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled([...this.running]);
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
  throw new BadRequestException('invalid cursor');
}

function minDate(a: Date | undefined, b: Date): Date {
  return a && a < b ? a : b;
}

function describeFilter(filter: DeadLetterFilter): Record<string, unknown> {
  return {
    ...filter,
    ids: filter.ids ? filter.ids.length : undefined,
    from: filter.from?.toISOString(),
    to: filter.to?.toISOString(),
  };
}
