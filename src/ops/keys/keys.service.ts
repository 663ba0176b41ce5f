import { Injectable } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { DataCipher } from '../../platform/crypto/data-cipher';
import { OperationRecord } from '../../platform/operations/operation-record';
import { Operations } from '../../platform/operations/operations.service';
import { AccessEntry, AccessReportRepository } from './access-report.repository';
import { KeysRepository } from './keys.repository';
import { ReencryptOperation } from './reencrypt.operation';
import { SEALED_COLUMNS } from './sealed-columns';

export interface EncryptionReport {
  primaryKeyId: string;
  /** Every key of the ring, and any key stored values name that the ring lacks. */
  keys: { id: string; values: number; inRing: boolean }[];
}

export interface AccessReport {
  provider: string;
  /** The patient's one-way hash: what the audit entries carry instead of the id. */
  participant: string;
  items: AccessEntry[];
}

/** Every audited access to a patient's content. */
export const CONTENT_ACCESS_ACTIONS = [
  AuditAction.DeadLetterPayloadViewed,
  AuditAction.DeadLetterReplayed,
  AuditAction.ReplySent,
  'message.sent',
  AuditAction.ParticipantErased,
];

@Injectable()
export class KeysService {
  constructor(
    private readonly cipher: DataCipher,
    private readonly keys: KeysRepository,
    private readonly access: AccessReportRepository,
    private readonly operations: Operations,
    private readonly reencrypt: ReencryptOperation,
  ) {}

  async report(): Promise<EncryptionReport> {
    const counts = await this.keys.valuesByKey(SEALED_COLUMNS);
    const ring = this.cipher.keyIds;
    const named = [...counts.keys()].filter((id) => !ring.includes(id));
    return {
      primaryKeyId: this.cipher.primaryKeyId,
      keys: [...ring, ...named].map((id) => ({ id, values: counts.get(id) ?? 0, inRing: ring.includes(id) })),
    };
  }

  startReencryption(actor: string): Promise<OperationRecord> {
    return this.operations.start(this.reencrypt, { primaryKeyId: this.cipher.primaryKeyId }, actor);
  }

  async accessReport(provider: string, participantId: string, limit: number): Promise<AccessReport> {
    const participant = this.cipher.fingerprint(participantId);
    const items = await this.access.accesses(
      provider,
      [participantId, participant],
      participant,
      CONTENT_ACCESS_ACTIONS,
      limit,
    );
    return { provider, participant, items };
  }
}
