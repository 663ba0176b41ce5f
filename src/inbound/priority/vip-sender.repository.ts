import { Injectable } from '@nestjs/common';
import { AuditAction } from '../../audit/audit-actions';
import { auditRows, insertAudit } from '../../audit/audit-sql';
import { Sql } from '../../platform/database/sql';

export interface VipSender {
  provider: string;
  senderId: string;
  note: string | null;
  createdAt: Date;
}

const COLUMNS = `provider, sender_id AS "senderId", note, created_at AS "createdAt"`;

/** The `vip_senders` table; every change is audited in the same statement. */
@Injectable()
export class VipSenderRepository {
  constructor(private readonly db: Sql) {}

  async list(): Promise<VipSender[]> {
    return this.db.query<VipSender>(`SELECT ${COLUMNS} FROM vip_senders ORDER BY provider, sender_id`);
  }

  /** `senderFingerprint` (DataCipher.fingerprint) is what the audit entry records: never the id itself. */
  async add(
    provider: string,
    senderId: string,
    note: string | null,
    actor: string,
    senderFingerprint: string,
  ): Promise<VipSender> {
    const [row] = await this.db.query<VipSender>(
      `WITH added AS (
         INSERT INTO vip_senders (provider, sender_id, note) VALUES ($1, $2, $3)
         ON CONFLICT (provider, sender_id) DO UPDATE SET note = EXCLUDED.note
         RETURNING ${COLUMNS}
       ), audited AS (
         ${insertAudit(
           auditRows({
             action: `'${AuditAction.VipSenderAdded}'`,
             outcome: `'success'`,
             provider: '$1',
             actor: '$4',
             metadata: `jsonb_build_object('senderFingerprint', $5::text)`,
           }),
         )}
       )
       SELECT * FROM added`,
      [provider, senderId, note, actor, senderFingerprint],
    );
    return row;
  }

  /** Returns false when there was no such VIP sender. */
  async remove(provider: string, senderId: string, actor: string, senderFingerprint: string): Promise<boolean> {
    const [row] = await this.db.query<{ removed: number }>(
      `WITH removed AS (
         DELETE FROM vip_senders WHERE provider = $1 AND sender_id = $2 RETURNING 1
       ), audited AS (
         ${insertAudit(
           auditRows(
             {
               action: `'${AuditAction.VipSenderRemoved}'`,
               outcome: `'success'`,
               provider: '$1',
               actor: '$3',
               metadata: `jsonb_build_object('senderFingerprint', $4::text)`,
             },
             'FROM removed',
           ),
         )}
       )
       SELECT count(*)::int AS removed FROM removed`,
      [provider, senderId, actor, senderFingerprint],
    );
    return (row?.removed ?? 0) > 0;
  }
}
