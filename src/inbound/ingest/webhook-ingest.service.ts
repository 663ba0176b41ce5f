import { Injectable, Logger } from '@nestjs/common';
import { RejectionTally } from '../../audit/rejection-tally';
import { AppConfig } from '../../platform/config/app-config';
import { DataCipher, sealedIn } from '../../platform/crypto/data-cipher';
import { uuidv7 } from '../../platform/crypto/ids';
import { QUERY_TIMEOUT_MARGIN_MS } from '../../platform/database/data-source-options';
import { describeDatabaseError } from '../../platform/database/database-errors';
import {
  GroupCommit,
  GroupCommitAbortedError,
  GroupCommitFullError,
  GroupCommitTimeoutError,
} from '../../platform/database/group-commit';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { ChannelProvider } from '../../providers/channel-provider';
import { SignatureVerifier, SignatureVerdict } from '../../providers/meta/signature-verifier';
import { VipSenders } from '../priority/vip-senders';
import { InboundEventQueue } from '../queue/inbound-event.queue';
import { InboundEventRepository, ReceiptToStore } from '../store/inbound-event.repository';
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

/** A shared ingest statement stops growing here: its parameters are serialised (bytea as hex) before it is sent. */
const MAX_STATEMENT_BYTES = 8 * 1024 * 1024;
/**
 * A receipt with more events than INGEST_MAX_BATCH (written alone) gets this much more time per event, on
 * top of the statement timeout: the largest (10,000 events) takes Postgres about half a second on an idle
 * machine and several seconds on a loaded one (CI at 2 cores and 4 test workers ran out of 0.2 ms per event).
 */
const EXTRA_MS_PER_EVENT = 1;

/** What a receipt holds in memory until it is stored: the raw body, its sealed copy and the sealed payloads. */
function heldBytes(receipt: ReceiptToStore): number {
  let bytes = receipt.bodyBytes + receipt.sealedBody.length;
  for (const event of receipt.events) bytes += event.sealedPayload?.length ?? 0;
  return bytes;
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
    private readonly config: AppConfig,
    private readonly cipher: DataCipher,
    private readonly events: InboundEventRepository,
    private readonly rejections: RejectionTally,
    private readonly queue: InboundEventQueue,
    private readonly metrics: MetricsService,
    private readonly vip: VipSenders,
  ) {
    this.verifier = new SignatureVerifier(config.metaAppSecrets);
    this.store = new GroupCommit<ReceiptToStore, Set<string>>(
      async (receipts) => {
        const events = receipts.reduce((sum, receipt) => sum + receipt.events.length, 0);
        const inserted = await this.events.storeReceipts(
          receipts,
          events > config.ingestMaxBatch ? config.databaseStatementTimeoutMs + this.extraTimeFor(events) : undefined,
        );
        return receipts.map(() => inserted);
      },
      {
        name: 'ingest',
        maxBatchWeight: config.ingestMaxBatch,
        maxInFlight: 2,
        weight: (receipt) => receipt.events.length,
        // Bounded while Postgres is slow or silent: beyond these a webhook is answered 503 at once.
        maxPending: config.ingestMaxPending,
        bytes: heldBytes,
        maxPendingBytes: config.ingestMaxPendingBytes,
        maxBatchBytes: MAX_STATEMENT_BYTES,
        // The answer is due within the statement timeout (and the client's margin), waiting included.
        timeoutMs: (receipt) =>
          config.databaseStatementTimeoutMs + QUERY_TIMEOUT_MARGIN_MS + this.extraTimeFor(receipt.events.length),
      },
    );
  }

  private extraTimeFor(events: number): number {
    return events > this.config.ingestMaxBatch ? events * EXTRA_MS_PER_EVENT : 0;
  }

  /** The signature check alone (constant-time), so the caller knows the request is Meta's before it is stored. */
  verify(rawBody: Buffer, signature: string | undefined): SignatureVerdict {
    return this.verifier.verify(rawBody, signature);
  }

  /**
   * `verdict` is verify()'s. `gone` says whether the client has hung up: a receipt not yet in a statement
   * is then dropped, and the memory it holds freed.
   */
  async receive(
    provider: ChannelProvider,
    rawBody: Buffer,
    verdict: SignatureVerdict,
    correlationId: string,
    gone?: () => boolean,
  ): Promise<IngestResult> {
    this.metrics.webhooksReceived.inc({ provider: provider.name });
    if (verdict !== 'valid') {
      this.metrics.webhooksRejected.inc({ provider: provider.name, reason: verdict });
      // Audited per minute, not per request: unauthenticated traffic must not be able to fill the audit log.
      this.rejections.count(provider.name, `${verdict}_signature`);
      return { outcome: 'rejected', verdict };
    }

    const { events, parseError, itemCount } = readWebhookBody(provider, rawBody, this.cipher);
    const receiptId = uuidv7();
    const receipt: ReceiptToStore = {
      id: receiptId,
      provider: provider.name,
      correlationId,
      sealedBody: this.cipher.encrypt(rawBody, sealedIn('webhook_receipts.body', receiptId)),
      bodyBytes: rawBody.length,
      parseError,
      itemCount,
      events,
    };
    for (const event of events) {
      // Only the sealed payload waits for the statement: the parsed one is left behind.
      event.payload = undefined;
      event.priority = this.vip.priorityOf(provider.name, event.senderId);
    }

    let inserted: Set<string>;
    try {
      inserted = await this.store.submit(receipt, gone);
    } catch (error) {
      // The client has gone (nobody reads the answer), or the bound was reached (the batcher logs that).
      if (!(error instanceof GroupCommitAbortedError || error instanceof GroupCommitFullError)) {
        this.logger.error({
          msg: 'could not store webhook; answering 503',
          correlationId,
          ...(error instanceof GroupCommitTimeoutError ? { cause: 'timeout' } : describeDatabaseError(error)),
        });
      }
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
