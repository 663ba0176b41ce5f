import { Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { AuditService } from '../../audit/audit.service';
import { DataCipher } from '../../platform/crypto/data-cipher';
import { GroupCommit } from '../../platform/database/group-commit';
import { uuidv7 } from '../../platform/crypto/ids';
import { AppConfig } from '../../platform/config/app-config';
import { InboundEventRepository, ReceiptToStore } from '../store/inbound-event.repository';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { InboundEventQueue } from '../queue/inbound-event.queue';
import { ChannelProvider } from '../../providers/channel-provider';
import { SignatureVerifier, SignatureVerdict } from '../../providers/meta/signature-verifier';
import { VipSenders } from '../priority/vip-senders';
import { readWebhookBody } from './webhook-body';

export type IngestResult =
  | { outcome: 'rejected'; verdict: Exclude<SignatureVerdict, 'valid'> }
  | { outcome: 'stored'; events: number; newEvents: number; malformed: boolean };

/** Postgres did not take the receipt: nothing may be acknowledged. */
export class StoreUnavailableError extends Error {
  constructor() {
    super('the event store is unavailable');
  }
}

/**
 * The webhook path: verify, parse, store durably (group commit: concurrent requests share one
 * statement and one commit), then hand new events to the queue. Only the store decides the answer.
 */
@Injectable()
export class WebhookIngestService {
  private readonly logger = new Logger(WebhookIngestService.name);
  private readonly verifier: SignatureVerifier;
  private readonly store: GroupCommit<ReceiptToStore, Set<string>>;

  constructor(
    config: AppConfig,
    private readonly cipher: DataCipher,
    private readonly events: InboundEventRepository,
    private readonly audit: AuditService,
    private readonly queue: InboundEventQueue,
    private readonly metrics: MetricsService,
    private readonly vip: VipSenders,
  ) {
    this.verifier = new SignatureVerifier(config.metaAppSecrets);
    this.store = new GroupCommit<ReceiptToStore, Set<string>>(
      async (receipts) => {
        const inserted = await this.events.storeReceipts(receipts);
        return receipts.map(() => inserted);
      },
      { maxBatchWeight: config.ingestMaxBatch, maxInFlight: 2, weight: (receipt) => receipt.events.length },
    );
  }

  async receive(
    provider: ChannelProvider,
    rawBody: Buffer,
    signature: string | undefined,
    correlationId: string,
  ): Promise<IngestResult> {
    this.metrics.webhooksReceived.inc({ provider: provider.name });
    const verdict = this.verifier.verify(rawBody, signature);
    if (verdict !== 'valid') {
      this.metrics.webhooksRejected.inc({ provider: provider.name, reason: verdict });
      void this.audit
        .record({
          action: AuditAction.WebhookRejected,
          outcome: 'rejected',
          provider: provider.name,
          correlationId,
          metadata: { reason: `${verdict}_signature`, bodyBytes: rawBody.length },
        })
        .catch(() => undefined);
      return { outcome: 'rejected', verdict };
    }

    const { events, parseError, itemCount } = readWebhookBody(provider, rawBody, this.cipher);
    const receipt: ReceiptToStore = {
      id: uuidv7(),
      provider: provider.name,
      correlationId,
      sealedBody: this.cipher.encrypt(rawBody),
      bodyBytes: rawBody.length,
      parseError,
      itemCount,
      events: events.map((event) => ({
        ...event,
        id: uuidv7(),
        priority: this.vip.priorityOf(provider.name, event.senderId),
      })),
    };

    let inserted: Set<string>;
    try {
      inserted = await this.store.submit(receipt);
    } catch (error) {
      this.logger.error({
        msg: 'could not store webhook; answering 503',
        correlationId,
        error: (error as Error)?.name,
      });
      throw new StoreUnavailableError();
    }
    const newEvents = receipt.events.filter((event) => inserted.has(event.id));
    this.metrics.webhooksAccepted.inc({ provider: provider.name });
    this.metrics.eventsReceived.inc({ provider: provider.name }, newEvents.length);
    this.metrics.webhooksDuplicate.inc({ provider: provider.name }, receipt.events.length - newEvents.length);
    if (newEvents.length > 0) {
      await this.queue.enqueue(newEvents.map((event) => ({ id: event.id, priority: event.priority ?? 0 })));
    }
    return {
      outcome: 'stored',
      events: receipt.events.length,
      newEvents: newEvents.length,
      malformed: parseError !== null,
    };
  }
}
