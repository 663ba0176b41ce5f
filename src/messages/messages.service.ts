import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AccountDirectory } from '../accounts/account-directory';
import { AccountError } from '../accounts/account.errors';
import { AuditAction } from '../audit/audit-actions';
import { HUMAN_AGENT_PROVIDERS, replyWindow } from '../inbound/processing/reply-policy';
import { Clock } from '../platform/clock';
import { AppConfig } from '../platform/config/app-config';
import { DataCipher, sealedIn } from '../platform/crypto/data-cipher';
import { uuidv7 } from '../platform/crypto/ids';
import { BACKOFF_TYPE, JobName, QueueName, SendMessageJob } from '../platform/queue/queue-names';
import { MessageError } from './message.errors';
import { OutgoingMessage, OutgoingMessageRepository } from './outgoing-message.repository';

export interface SendMessageRequest {
  provider: string;
  accountId: string;
  recipientId: string;
  text: string;
  tag?: 'HUMAN_AGENT';
  idempotencyKey: string | null;
  actor: string;
  correlationId: string | null;
}

/**
 * The clinic's own systems (a CRM, a booking tool) send a message into a patient's conversation: checked
 * against Meta's window, stored with its text sealed, the conversation handed off to staff, and sent by a
 * worker with the same pacing, retries, `unknown` on ambiguity and dead letters as the auto-reply.
 */
@Injectable()
export class MessagesService {
  private readonly logger = new Logger(MessagesService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly repository: OutgoingMessageRepository,
    private readonly accounts: AccountDirectory,
    private readonly cipher: DataCipher,
    private readonly clock: Clock,
    @InjectQueue(QueueName.OutgoingMessages) private readonly queue: Queue<SendMessageJob>,
  ) {}

  async send(request: SendMessageRequest): Promise<OutgoingMessage> {
    if (request.tag && !HUMAN_AGENT_PROVIDERS.includes(request.provider)) {
      throw new MessageError('invalid', 'tag HUMAN_AGENT is for instagram and facebook only');
    }
    await this.checkAccount(request.provider, request.accountId);
    const now = this.clock.now();
    const conversation = await this.repository.conversation(request.provider, request.accountId, request.recipientId);
    const window = replyWindow(request.provider, conversation?.patientAt ?? null, now);
    if (!conversation || window === 'window_closed' || (window === 'human_agent' && request.tag !== 'HUMAN_AGENT')) {
      throw new MessageError(
        'window_closed',
        window === 'human_agent'
          ? 'the patient wrote more than 24 h ago: only a person may answer, with tag HUMAN_AGENT'
          : 'the messaging window is closed: the patient has not written within the window',
      );
    }
    const id = uuidv7();
    const { message, created } = await this.repository.create(
      {
        id,
        provider: request.provider,
        accountId: request.accountId,
        recipientId: request.recipientId,
        conversationId: conversation.id,
        tag: request.tag ?? null,
        sealedText: this.cipher.encrypt(request.text, sealedIn('outgoing_messages.content', id)),
        idempotencyKey: request.idempotencyKey,
        actor: request.actor,
        correlationId: request.correlationId,
        at: now,
      },
      [
        {
          action: AuditAction.MessageQueued,
          outcome: 'info',
          provider: request.provider,
          correlationId: request.correlationId,
          actor: request.actor,
          metadata: {
            messageId: id,
            conversationId: conversation.id,
            tag: request.tag ?? null,
            handoff: true,
            participant: this.cipher.fingerprint(request.recipientId),
          },
        },
      ],
    );
    if (created) await this.enqueue([message.messageId]);
    return message;
  }

  async get(id: string): Promise<OutgoingMessage> {
    const message = await this.repository.find(id);
    if (!message) throw new MessageError('not_found', 'no such message');
    return message;
  }

  /** Queues the sends; when Redis refuses, the messages stay `queued` and the relay queues them later. */
  async enqueue(ids: readonly string[]): Promise<void> {
    try {
      await this.queue.addBulk(
        ids.map((messageId) => ({
          name: JobName.SendMessage,
          data: { messageId },
          opts: {
            jobId: messageId,
            attempts: this.config.retry.maxAttempts,
            backoff: { type: BACKOFF_TYPE, delay: this.config.retry.baseDelayMs },
            removeOnComplete: { age: 3600, count: 10_000 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        })),
      );
      await this.repository.markQueued(ids);
    } catch (error) {
      this.logger.warn({
        msg: 'messages left for the relay to queue',
        count: ids.length,
        error: (error as Error)?.name,
      });
    }
  }

  /** An account in the table, or one its provider's environment token serves. */
  private async checkAccount(provider: string, accountId: string): Promise<void> {
    const known = await this.accounts.get(provider, accountId).then(
      () => true,
      (error: unknown) => {
        if (error instanceof AccountError) return false;
        throw error;
      },
    );
    const environmentToken = {
      instagram: this.config.instagram.accessToken,
      facebook: this.config.facebook.pageAccessToken,
      whatsapp: this.config.whatsapp.accessToken,
    }[provider];
    if (!known && !environmentToken) {
      throw new MessageError('invalid', 'accountId is no account of this provider, and it has no environment token');
    }
  }
}
