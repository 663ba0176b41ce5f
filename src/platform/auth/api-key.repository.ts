import { Injectable } from '@nestjs/common';
import { uuidv7 } from '../crypto/ids';
import { Sql } from '../database/sql';
import { generateApiKey, hashApiKey, keyPrefix, Role } from './api-key';

export interface StoredApiKey {
  id: string;
  name: string;
  role: Role;
  keyPrefix: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const COLUMNS = `id, name, role, key_prefix AS "keyPrefix", created_at AS "createdAt", expires_at AS "expiresAt",
                 revoked_at AS "revokedAt", last_used_at AS "lastUsedAt"`;

/** How stale `last_used_at` may be: it is a "when was this key last seen" for people, not an access log. */
const LAST_USED_RESOLUTION_SECONDS = 60;

@Injectable()
export class ApiKeyRepository {
  constructor(private readonly db: Sql) {}

  /** Creates a key; the plain key is returned here once and never stored. */
  async create(name: string, role: Role, expiresAt: Date | null): Promise<{ key: string; record: StoredApiKey }> {
    const key = generateApiKey(role);
    const record = await this.db.one<StoredApiKey>(
      `INSERT INTO api_keys (id, name, role, key_hash, key_prefix, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      [uuidv7(), name, role, hashApiKey(key), keyPrefix(key), expiresAt],
    );
    return { key, record: record! };
  }

  /**
   * The live (not revoked, not expired) key with this hash, read on every call so a revocation holds at
   * once. `last_used_at` is written at most once a minute per key: not a write per admin request.
   */
  async findActiveByHash(hash: Buffer): Promise<StoredApiKey | undefined> {
    return this.db.one<StoredApiKey>(
      `WITH live AS (
         SELECT * FROM api_keys
          WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
       ), touched AS (
         UPDATE api_keys SET last_used_at = now()
          WHERE id IN (SELECT id FROM live
                        WHERE last_used_at IS NULL
                           OR last_used_at < now() - interval '${LAST_USED_RESOLUTION_SECONDS} seconds')
       )
       SELECT ${COLUMNS} FROM live`,
      [hash],
    );
  }

  async list(): Promise<StoredApiKey[]> {
    return this.db.query<StoredApiKey>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at`);
  }

  /** Revokes by id or by name; returns the keys revoked. */
  async revoke(idOrName: string): Promise<StoredApiKey[]> {
    return this.db.query<StoredApiKey>(
      `UPDATE api_keys SET revoked_at = now()
        WHERE revoked_at IS NULL AND (name = $1 OR id::text = $1)
        RETURNING ${COLUMNS}`,
      [idOrName],
    );
  }
}
