import { Injectable, Logger } from '@nestjs/common';
import { AccountTokens } from '../accounts/account-tokens';
import { AuditAction, AuditEntry } from '../audit/audit-actions';
import { replyWindow } from '../inbound/processing/reply-policy';
import { SendPacer } from '../inbound/processing/send-pacer';
import { Clock } from '../platform/clock';
import { DataCipher } from '../platform/crypto/data-cipher';
import { uuidv7 } from '../platform/crypto/ids';
import { ClassifiedFailure, classifyUnexpected } from '../platform/failure';
import { ChannelProviders } from '../providers/channel-providers';
import { ClaimedMessage, OutgoingMessageRepository } from './outgoing-message.repository';

/** A message whose account holds its sends is looked at again this often. */
const HELD_RECHECK_MS = 5000;

export interface SendAttempt {
  attempt: number;
  finalAttempt: boolean;
}

/** Not a failure: the message waits for its send slot (the job is delayed without using an attempt). */
export class MessageDeferred extends Error {
  constructor(readonly until: number) {
    super('message deferred to its send slot');
    this.name = 'MessageDeferred';
  }
}

/** The failure is final (permanent, or the last attempt): the message is failed and dead-lettered. */
export class MessageFailedForGood extends Error {
  constructor(readonly failure: ClassifiedFailure) {
    super(failure.message);
    this.name = 'MessageFailedForGood';
  }
}

/**
 * Sends one message of POST /messages, at most once: the send moves it to `sending` in one statement, and a
 * run that finds it `sending` (a run died mid-request) records `unknown` instead of sending again. The window
 * is checked again at the send (a retry may come late): past it, the message is `skipped` (window_closed).
 */
@Injectable()
export class MessageSender {
  private readonly logger = new Logger(MessageSender.name);

  constructor(
    private readonly repository: OutgoingMessageRepository,
    private readonly pacer: SendPacer,
    private readonly providers: ChannelProviders,
    private readonly tokens: AccountTokens,
    private readonly cipher: DataCipher,
    private readonly clock: Clock,
  ) {}

  async send(messageId: string, attempt: SendAttempt): Promise<void> {
    const message = await this.repository.claim(messageId);
    if (!message) return;
    // Its account is paused or needs a token: look again a little later, without using an attempt.
    if (message.held) throw new MessageDeferred(Date.now() + HELD_RECHECK_MS);
    if (message.interrupted) return this.finish(message, { status: 'unknown', category: 'interrupted' });
    const window = replyWindow(message.provider, message.patientAt, this.clock.now());
    if (window === 'window_closed' || (window === 'human_agent' && message.tag !== 'HUMAN_AGENT')) {
      return this.finish(message, { status: 'skipped', category: 'window_closed' });
    }

    // The same turn as a reply's (the account's schedule, then its gate right before the request); a message
    // parked for its slot takes a fresh one when it wakes (the gate keeps a late one from bunching up).
    await this.pacer.takeTurn(message.provider, message.accountId, null, async (_slotAt, wakeAt) => {
      await this.repository.release(message.messageId, 'retrying', { paced: true });
      throw new MessageDeferred(wakeAt);
    });

    let result;
    try {
      const provider = this.providers.get(message.provider);
      if (!provider) throw new ClassifiedFailure({ category: 'client_error', summary: 'no such channel provider' });
      const credential = await this.tokens.credentialFor(message.provider, message.accountId);
      result = await provider.sendText({
        accountId: message.accountId,
        recipientId: message.recipientId,
        text: this.cipher.decryptText(message.sealedText),
        accessToken: credential.accessToken,
        tag: message.tag ?? undefined,
      });
    } catch (error) {
      const failure = classifyUnexpected(error);
      if (failure.ambiguous) {
        return this.finish(message, { status: 'unknown', category: failure.category, httpStatus: failure.httpStatus });
      }
      if (failure.transient && !attempt.finalAttempt) {
        await this.repository.release(message.messageId, 'retrying', {
          category: failure.category,
          httpStatus: failure.httpStatus,
        });
        throw failure;
      }
      await this.finish(
        message,
        { status: 'failed', category: failure.category, httpStatus: failure.httpStatus },
        { attempts: attempt.attempt, error: failure.message },
      );
      throw new MessageFailedForGood(failure);
    }
    await this.finish(message, {
      status: 'sent',
      providerMessageId: result.providerMessageId,
      httpStatus: result.httpStatus,
    });
  }

  private async finish(
    message: ClaimedMessage,
    outcome: {
      status: 'sent' | 'unknown' | 'skipped' | 'failed';
      providerMessageId?: string | null;
      category?: string;
      httpStatus?: number;
    },
    deadLetter?: { attempts: number; error: string },
  ): Promise<void> {
    const action = {
      sent: AuditAction.MessageSent,
      unknown: AuditAction.MessageUnknown,
      skipped: AuditAction.MessageSkipped,
      failed: AuditAction.MessageFailed,
    }[outcome.status];
    const entry: AuditEntry = {
      action,
      outcome: outcome.status === 'sent' ? 'success' : outcome.status === 'failed' ? 'failure' : outcome.status,
      provider: message.provider,
      correlationId: message.correlationId,
      metadata: {
        messageId: message.messageId,
        ...(outcome.category ? { category: outcome.category } : {}),
        ...(outcome.status === 'skipped' ? { reason: outcome.category } : {}),
        ...(outcome.httpStatus ? { httpStatus: outcome.httpStatus } : {}),
      },
    };
    if (outcome.status !== 'sent') {
      this.logger.warn({
        msg: `message ${outcome.status}`,
        messageId: message.messageId,
        correlationId: message.correlationId,
        category: outcome.category,
      });
    }
    await this.repository.finish(
      message.messageId,
      outcome,
      [entry],
      deadLetter && {
        id: uuidv7(),
        provider: message.provider,
        correlationId: message.correlationId,
        error: deadLetter.error,
        attempts: deadLetter.attempts,
      },
    );
  }
}
