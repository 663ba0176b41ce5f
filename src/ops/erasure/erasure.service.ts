import { Injectable, Logger } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { Actor } from '../../platform/auth/api-key';
import { DataCipher, sealedIn } from '../../platform/crypto/data-cipher';
import { Provider } from '../../providers/channel-provider';
import { ErasureCounts, ErasureRepository } from './erasure.repository';

export interface ErasureReport {
  provider: Provider;
  /** The keyed one-way hash that now stands for the participant in every table. */
  fingerprint: string;
  counts: ErasureCounts;
}

/**
 * A patient's right to erasure: their message content, raw bodies and payloads are removed, and their
 * id is replaced by its fingerprint. The participant id itself is never logged or audited.
 */
@Injectable()
export class ErasureService {
  private readonly logger = new Logger(ErasureService.name);

  constructor(
    private readonly repository: ErasureRepository,
    private readonly cipher: DataCipher,
  ) {}

  async erase(provider: Provider, participantId: string, actor: Actor): Promise<ErasureReport> {
    const fingerprint = this.cipher.fingerprint(participantId);
    // Meta sends ids as JSON strings: a body that mentions the participant holds the quoted id.
    const quoted = Buffer.from(JSON.stringify(participantId));
    const mentions = (receiptId: string, sealedBody: Buffer) => {
      try {
        return this.cipher.decrypt(sealedBody, sealedIn('webhook_receipts.body', receiptId)).includes(quoted);
      } catch {
        return false;
      }
    };
    const counts = await this.repository.erase(provider, participantId, fingerprint, mentions, (found) => ({
      action: AuditAction.ParticipantErased,
      outcome: 'success',
      provider,
      actor: actor.name,
      correlationId: actor.correlationId,
      metadata: { fingerprint, counts: found },
    }));
    this.logger.log({
      msg: 'participant erased',
      provider,
      fingerprint,
      actor: actor.name,
      correlationId: actor.correlationId,
      ...counts,
    });
    return { provider, fingerprint, counts };
  }
}
