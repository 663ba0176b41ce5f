import { Injectable, Logger } from '@nestjs/common';
import { HoldReason } from '../../accounts/account';
import { AccountService } from '../../accounts/account.service';
import { AccountCredential, AccountTokens } from '../../accounts/account-tokens';
import { AuditAction, AuditEntry, foldProcessed } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { DataCipher, messageContentIn, sealedIn } from '../../platform/crypto/data-cipher';
import { ClassifiedFailure, classifyUnexpected } from '../../platform/failure';
import { uuidv7 } from '../../platform/crypto/ids';
import { AppConfig } from '../../platform/config/app-config';
import { ConversationRepository, RecordedMessage } from './conversation.repository';
import { ClaimedEvent, InboundEventRepository } from '../store/inbound-event.repository';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { ChannelProvider } from '../../providers/channel-provider';
import { ChannelProviders } from '../../providers/channel-providers';
import { MessageStoredListener } from './message-stored.port';
import { SendPacer } from './send-pacer';
import { payloadOfOnlyEvent } from '../../providers/meta/payload-reading';
import { Clock } from '../../platform/clock';
import { ReplyPolicy } from './reply-policy';

export interface AttemptContext {
  /** 1-based attempt number. */
  attempt: number;
  /** No retry follows this attempt: a failure now is dead-lettered. */
  finalAttempt: boolean;
  jobId: string | null;
}

/** `held`: the reply waits for its account (paused, or needing a token); the event stays unfinished. */
export type HandleOutcome = 'processed' | 'already-finished' | 'held';

/** How many times throttling may defer one event before it counts as a failed attempt again. */
const THROTTLE_DEFERRALS = 10;
/** A send refused with a token that was replaced meanwhile tries again this soon, with the new one. */
const TOKEN_REPLACED_RETRY_MS = 100;
/** An echo that may be of our reply still in flight is looked at again this soon, this many times at most. */
const ECHO_RECHECK_MS = 1000;
const ECHO_RECHECKS = 30;

/** Not a failure: the reply must wait for its send slot. The job is delayed until `until` without using an attempt. */
export class SendDeferred extends Error {
  constructor(readonly until: number) {
    super('reply deferred to its send slot');
    this.name = 'SendDeferred';
  }
}

/** How far Meta's timestamp may stray from the receive time wherever it orders something (it is data otherwise). */
const META_CLOCK_PAST_MS = 7 * 24 * 3600 * 1000;
const META_CLOCK_FUTURE_MS = 5 * 60 * 1000;

/** Meta's time of the event, clamped to a window around the time Switchboard received it. */
export function metaTime(event: Pick<ClaimedEvent, 'occurredAt' | 'receivedAt'>): Date {
  const received = event.receivedAt.getTime();
  const stated = event.occurredAt?.getTime() ?? received;
  return new Date(Math.min(Math.max(stated, received - META_CLOCK_PAST_MS), received + META_CLOCK_FUTURE_MS));
}

/** Meta's edit counter, as the int column takes it; anything else counts as the first edit. */
function editCount(value: unknown): number {
  const count = Number(value ?? 1);
  return Number.isSafeInteger(count) && count >= 1 && count <= 2 ** 31 - 1 ? count : 1;
}

/** Thrown for a failure that must not be retried (permanent, or the last attempt). Already dead-lettered. */
export class PermanentFailure extends Error {
  constructor(readonly failure: ClassifiedFailure) {
    super(failure.message);
    this.name = 'PermanentFailure';
  }
}

interface MessagingPayload {
  sender?: { id?: string };
  recipient?: { id?: string };
  message?: { mid?: string; text?: string; attachments?: unknown[] };
  message_edit?: { mid?: string; text?: string; num_edit?: number };
}

/** A delivery status of a message the account sent (WhatsApp `statuses[]`). */
interface DeliveryStatusPayload {
  status?: string;
  errors?: { code?: number }[];
}

/**
 * Processes one stored inbound event. Safe to run any number of times for the same event (BullMQ
 * re-runs stalled jobs; the relay may enqueue twice): every step is keyed by the event id, and a reply
 * is sent at most once: a run that finds a reply left `sending` by a run that died does not resend it.
 */
@Injectable()
export class InboundEventHandler {
  private readonly logger = new Logger(InboundEventHandler.name);

  constructor(
    private readonly config: AppConfig,
    private readonly cipher: DataCipher,
    private readonly events: InboundEventRepository,
    private readonly conversations: ConversationRepository,
    private readonly audit: AuditService,
    private readonly pacer: SendPacer,
    private readonly providers: ChannelProviders,
    private readonly metrics: MetricsService,
    private readonly messageStored: MessageStoredListener,
    private readonly tokens: AccountTokens,
    private readonly accounts: AccountService,
    private readonly policy: ReplyPolicy,
    private readonly clock: Clock,
  ) {}

  async handle(eventId: string, context: AttemptContext): Promise<HandleOutcome> {
    const event = await this.events.claim(eventId);
    if (!event) return 'already-finished';
    const started = performance.now();
    this.metrics.processingAttempts.inc({ provider: event.provider });
    try {
      const outcome = (await this.process(event)) ?? 'processed';
      this.observe(event, 'processed', started);
      return outcome;
    } catch (error) {
      if (error instanceof SendDeferred) throw error;
      const failure = classifyUnexpected(error);
      const thrown = await this.fail(event, failure, context);
      this.observe(event, 'failed', started);
      this.metrics.processingFailures.inc({
        category: failure.category,
        final: String(thrown instanceof PermanentFailure),
      });
      throw thrown;
    }
  }

  private observe(event: ClaimedEvent, outcome: 'processed' | 'failed', started: number): void {
    this.metrics.processingDuration.observe({ kind: event.kind, outcome }, (performance.now() - started) / 1000);
  }

  private async process(event: ClaimedEvent): Promise<HandleOutcome | void> {
    switch (event.kind) {
      case 'message':
        return this.handleIncomingMessage(event);
      case 'message_echo':
        return this.handleEcho(event);
      case 'message_deleted':
        await this.conversations.recordDeletion(event.provider, event.metaMessageId ?? '');
        return this.complete(event);
      case 'message_edit': {
        const edit = this.payload(event).message_edit ?? {};
        // The stored id, not the payload's: it is the form the message was stored under (ids are cleaned at ingest).
        const metaMessageId = event.metaMessageId ?? '';
        const sealed = this.cipher.encryptJson(
          { text: edit.text ?? null },
          messageContentIn(event.provider, metaMessageId),
        );
        await this.conversations.recordEdit(event.provider, metaMessageId, sealed, editCount(edit.num_edit));
        return this.complete(event);
      }
      case 'read':
        if (event.accountId && event.senderId) {
          await this.conversations.recordRead(event.provider, event.accountId, event.senderId, metaTime(event));
        }
        return this.complete(event);
      case 'status':
        return this.handleDeliveryStatus(event);
      default:
        // Reactions, postbacks, referrals, comments and other changes are recorded, not answered.
        return this.complete(event);
    }
  }

  private async handleIncomingMessage(event: ClaimedEvent): Promise<HandleOutcome | void> {
    const payload = this.payload(event);
    const message = payload.message ?? {};
    const participantId = event.senderId;
    const accountId = event.accountId ?? event.recipientId;
    if (!participantId || !accountId) {
      throw new ClassifiedFailure({ category: 'malformed', summary: 'message event without sender or recipient id' });
    }
    const attachments = Array.isArray(message.attachments) ? message.attachments : [];
    const standby = event.channel === 'standby';
    const decidedAt = this.clock.now();
    const choice = await this.policy.choose(event.provider, accountId, decidedAt);
    const metaMessageId = event.metaMessageId ?? event.id;
    const recorded = await this.conversations.recordIncomingMessage({
      eventId: event.id,
      provider: event.provider,
      accountId,
      participantId,
      metaMessageId,
      sentAt: metaTime(event),
      receivedAt: event.receivedAt,
      sealedContent: this.cipher.encryptJson(
        { text: message.text ?? null, attachments },
        messageContentIn(event.provider, metaMessageId),
      ),
      attachmentCount: attachments.length,
      replyWanted: !standby,
      skipReason: standby ? 'standby' : null,
      decidedAt,
      textKind: choice.kind,
      policy: { cooldownMinutes: this.config.autoReply.cooldownMinutes, handoffMinutes: this.config.handoffMinutes },
      newIds: { conversation: uuidv7(), message: uuidv7(), reply: uuidv7() },
    });
    // The message is stored: subscribers hear of it (ids only) whatever becomes of the auto-reply, which
    // does not wait for it; the job does.
    const announced = this.messageStored.messageStored({
      provider: event.provider,
      eventId: event.id,
      conversationId: recorded.conversationId,
      accountId,
      senderId: participantId,
      occurredAt: event.occurredAt ?? new Date(),
      correlationId: event.correlationId,
    });
    try {
      return await this.answerMessage(event, recorded, participantId);
    } finally {
      await announced;
    }
  }

  private async answerMessage(
    event: ClaimedEvent,
    recorded: RecordedMessage,
    participantId: string,
  ): Promise<HandleOutcome | void> {
    if (recorded.createdReply?.status === 'sending') return this.sendReply(event, participantId);
    if (recorded.createdReply?.status === 'held') return this.held(event, recorded.createdReply.holdReason);
    if (recorded.createdReply?.status === 'skipped') return this.skipped(event, recorded.createdReply.skipReason);
    switch (recorded.existingReply?.status) {
      case 'retrying':
      case 'held': {
        const decidedAt = this.clock.now();
        const accountId = event.accountId ?? event.recipientId ?? '';
        const choice = await this.policy.choose(event.provider, accountId, decidedAt);
        const claimed = await this.conversations.claimReply(event.id, {
          decidedAt,
          handoffMinutes: this.config.handoffMinutes,
          textKind: choice.kind,
        });
        if (claimed?.status === 'sending') return this.sendReply(event, participantId, claimed.notBefore);
        if (claimed?.status === 'held') return this.held(event, claimed.newlyHeld ? claimed.holdReason : null);
        if (claimed?.status === 'skipped') return this.skipped(event, claimed.skipReason);
        return this.complete(event);
      }
      case 'sending':
        // A run died while its request was in flight: Meta may have delivered it. Never resend blindly.
        return this.finishUnknown(event, 'interrupted');
      default:
        return this.complete(event);
    }
  }

  /** The policy said no: the reply is `skipped` with its reason, audited (no content), counted; never a dead letter. */
  private async skipped(event: ClaimedEvent, reason: string | null): Promise<void> {
    this.metrics.repliesSkipped.inc({ provider: event.provider, reason: reason ?? 'unknown' });
    return this.complete(event, [this.entry(event, AuditAction.ReplySkipped, 'skipped', { reason })]);
  }

  /**
   * The reply waits for its account (paused, or needing a token), in Postgres: it is sent once the account
   * is resumed or has a new token (HeldReplies). The event stays unfinished until then. `reason`: audit the
   * hold (null when it was held already).
   */
  private async held(event: ClaimedEvent, reason: HoldReason | null): Promise<HandleOutcome> {
    if (reason) await this.audit.record(this.entry(event, AuditAction.ReplyHeld, 'info', { reason }));
    return 'held';
  }

  /** Sends the auto-reply in the account's next send slot (`heldSlot`: a slot an earlier run reserved). */
  private async sendReply(
    event: ClaimedEvent,
    recipientId: string,
    heldSlot: Date | null = null,
  ): Promise<HandleOutcome | void> {
    const accountId = event.accountId ?? event.recipientId ?? '';
    let result;
    let credential: AccountCredential | undefined;
    try {
      // The text of the hours now; a reply decided a moment before the hours closed still goes (in-hours text).
      const choice = await this.policy.choose(event.provider, accountId, this.clock.now());
      credential = await this.tokens.credentialFor(event.provider, accountId);
      // Last before the request: nothing slow between the gate and the Send API.
      await this.sendSlot(event, accountId, heldSlot);
      result = await this.provider(event.provider).sendText({
        accountId,
        recipientId,
        text: choice.text ?? choice.inHoursText,
        accessToken: credential.accessToken,
      });
    } catch (error) {
      if (error instanceof SendDeferred) throw error;
      const failure = classifyUnexpected(error);
      if (failure.ambiguous) return this.finishUnknown(event, failure.category, failure.httpStatus);
      if (failure.category === 'auth' && credential) return this.holdForToken(event, accountId, credential, failure);
      if (failure.transient) {
        await this.conversations.markReplyRetrying(event.id, failure.category, failure.httpStatus ?? null);
      }
      if (failure.category === 'rate_limited' && event.attempts <= this.config.retry.maxAttempts + THROTTLE_DEFERRALS) {
        // Throttled: slow the account down and wait, rather than burn one of the event's attempts.
        await this.pacer.slowDown(event.provider, accountId);
        throw new SendDeferred(Date.now() + (failure.retryAfterMs ?? 1000));
      }
      throw failure;
    }
    await this.conversations.finishReply(
      event.id,
      { status: 'sent', providerMessageId: result.providerMessageId, httpStatus: result.httpStatus },
      [
        foldProcessed(
          this.entry(event, AuditAction.ReplySent, 'success', { httpStatus: result.httpStatus }),
          event.kind,
        ),
      ],
    );
  }

  /**
   * Returns when this reply may be sent now, or parks it (SendDeferred) until its slot. The slot comes from the
   * account's schedule (`heldSlot`: one an earlier run reserved); the send itself passes the account's gate
   * (SendPacer) right before it goes, however long ago its slot was reserved: a reply that waited past its
   * slot gets a gate slot at most a moment ahead, or, when the gate is taken further ahead, a new slot.
   */
  private sendSlot(event: ClaimedEvent, accountId: string, heldSlot: Date | null): Promise<void> {
    return this.pacer.takeTurn(event.provider, accountId, heldSlot?.getTime() ?? null, async (slotAt, wakeAt) => {
      await this.conversations.deferReply(event.id, new Date(slotAt));
      throw new SendDeferred(wakeAt);
    });
  }

  /**
   * The Graph API refused the account's token (code 190, or 401): the account needs a new one and the reply
   * waits for it, held, without using an attempt. A token replaced since it was read is simply tried again.
   */
  private async holdForToken(
    event: ClaimedEvent,
    accountId: string,
    credential: AccountCredential,
    failure: ClassifiedFailure,
  ): Promise<HandleOutcome> {
    const refusal = await this.accounts
      .tokenRefused(event.provider, accountId, credential, {
        correlationId: event.correlationId,
        httpStatus: failure.httpStatus ?? null,
      })
      .catch(async (error: unknown) => {
        // Nothing was delivered: the next attempt may send again (and meet the refusal again).
        await this.conversations.markReplyRetrying(event.id, failure.category, failure.httpStatus ?? null);
        throw error;
      });
    if (refusal === 'replaced') {
      await this.conversations.markReplyRetrying(event.id, failure.category, failure.httpStatus ?? null);
      throw new SendDeferred(Date.now() + TOKEN_REPLACED_RETRY_MS);
    }
    await this.conversations.holdReply(event.id, failure.httpStatus ?? null, [
      this.entry(event, AuditAction.ReplyHeld, 'info', { reason: 'needs_token', category: failure.category }),
    ]);
    return 'held';
  }

  private provider(name: string): ChannelProvider {
    const provider = this.providers.get(name);
    if (!provider) throw new ClassifiedFailure({ category: 'client_error', summary: `no channel provider ${name}` });
    return provider;
  }

  private async finishUnknown(event: ClaimedEvent, category: string, httpStatus?: number): Promise<void> {
    this.logger.warn({
      msg: 'reply outcome unknown; not resending',
      eventId: event.id,
      correlationId: event.correlationId,
      category,
    });
    await this.conversations.finishReply(event.id, { status: 'unknown', category, httpStatus }, [
      foldProcessed(this.entry(event, AuditAction.ReplyUnknown, 'unknown', { category }), event.kind),
    ]);
  }

  /**
   * An echo of a message the account sent. Ours reconciles a reply; anyone else's (a person in the Meta inbox,
   * another tool) starts a staff handoff: no auto-reply in the conversation for HANDOFF_MINUTES.
   */
  private async handleEcho(event: ClaimedEvent): Promise<void> {
    const message = this.payload(event).message ?? {};
    const attachments = Array.isArray(message.attachments) ? message.attachments : [];
    const accountId = event.accountId ?? event.senderId;
    const entries: AuditEntry[] = [];
    if (accountId && event.recipientId) {
      const metaMessageId = event.metaMessageId ?? event.id;
      const echo = await this.conversations.recordEcho({
        eventId: event.id,
        provider: event.provider,
        accountId,
        participantId: event.recipientId,
        metaMessageId,
        sentAt: metaTime(event),
        receivedAt: event.receivedAt,
        sealedContent: this.cipher.encryptJson(
          { text: message.text ?? null, attachments },
          messageContentIn(event.provider, metaMessageId),
        ),
        attachmentCount: attachments.length,
        newIds: { conversation: uuidv7(), message: uuidv7() },
      });
      if (echo.ourSendInFlight && event.attempts <= ECHO_RECHECKS) {
        // Perhaps the echo of our reply whose message id is not recorded yet: look again once it is.
        throw new SendDeferred(Date.now() + ECHO_RECHECK_MS);
      }
      if (echo.reconciledReplyId) {
        entries.push(this.entry(event, AuditAction.ReplyReconciled, 'success', { replyId: echo.reconciledReplyId }));
      }
      if (echo.handoff) {
        entries.push(
          this.entry(event, AuditAction.ConversationHandoff, 'info', {
            conversationId: echo.conversationId,
            source: 'echo',
            handoffMinutes: this.config.handoffMinutes,
          }),
        );
      }
    }
    return this.complete(event, entries);
  }

  /** Sent, delivered and read are recorded; a failed status marks the auto-reply it concerns as failed. */
  private async handleDeliveryStatus(event: ClaimedEvent): Promise<void> {
    const status = this.payload<DeliveryStatusPayload>(event);
    if (status.status !== 'failed' || !event.metaMessageId) return this.complete(event);
    const error = Array.isArray(status.errors) ? status.errors[0] : undefined;
    const category = this.provider(event.provider).classifyError(error);
    const replyId = await this.conversations.markReplyUndelivered(event.provider, event.metaMessageId, category);
    if (!replyId) return this.complete(event);
    return this.complete(event, [
      this.entry(event, AuditAction.ReplyFailed, 'failure', { replyId, category, code: error?.code ?? null }),
    ]);
  }

  /** The event is processed: its audit entries, the processed step folded into the last of them (if any). */
  private async complete(event: ClaimedEvent, extra: AuditEntry[] = []): Promise<void> {
    const last = extra[extra.length - 1];
    await this.events.complete(
      event.id,
      last
        ? [...extra.slice(0, -1), foldProcessed(last, event.kind)]
        : [this.entry(event, AuditAction.EventProcessed, 'success', { kind: event.kind })],
    );
  }

  /** Records a failed attempt; dead-letters when no retry follows. Returns what the caller must throw. */
  private async fail(event: ClaimedEvent, failure: ClassifiedFailure, context: AttemptContext): Promise<Error> {
    const log = {
      eventId: event.id,
      correlationId: event.correlationId,
      category: failure.category,
      attempt: context.attempt,
    };
    if (failure.transient && !context.finalAttempt) {
      this.logger.warn({ msg: 'event processing failed; will retry', ...log, error: failure.message });
      await this.audit
        .record(
          this.entry(event, AuditAction.EventAttemptFailed, 'failure', {
            category: failure.category,
            attempt: context.attempt,
            error: failure.message,
          }),
        )
        .catch(() => undefined);
      return failure;
    }
    this.logger.error({ msg: 'event dead-lettered', ...log, error: failure.message });
    await this.conversations.deadLetterEvent(
      {
        id: uuidv7(),
        source: 'inbound',
        eventId: event.id,
        provider: event.provider,
        correlationId: event.correlationId,
        category: failure.category,
        error: failure.message,
        attempts: context.attempt,
        jobId: context.jobId,
      },
      [
        ...(event.kind === 'message'
          ? [this.entry(event, AuditAction.ReplyFailed, 'failure', { category: failure.category })]
          : []),
        this.entry(event, AuditAction.EventDeadLettered, 'failure', {
          category: failure.category,
          attempts: context.attempt,
          error: failure.message,
        }),
      ],
    );
    return new PermanentFailure(failure);
  }

  private payload<T = MessagingPayload>(event: ClaimedEvent): T {
    if (!event.payloadInReceipt) {
      return this.cipher.decryptJson<T>(event.sealedPayload, sealedIn('inbound_events.payload', event.id));
    }
    const payload = payloadOfOnlyEvent(
      this.provider(event.provider),
      this.cipher.decrypt(event.sealedPayload, sealedIn('webhook_receipts.body', event.receiptId)),
      (value) => this.cipher.fingerprint(value),
    );
    if (payload === null)
      throw new ClassifiedFailure({ category: 'malformed', summary: 'stored body no longer yields its event' });
    return payload as T;
  }

  private entry(
    event: ClaimedEvent,
    action: string,
    outcome: AuditEntry['outcome'],
    metadata: Record<string, unknown>,
  ): AuditEntry {
    return {
      action,
      outcome,
      provider: event.provider,
      eventId: event.id,
      correlationId: event.correlationId,
      metadata,
    };
  }
}
