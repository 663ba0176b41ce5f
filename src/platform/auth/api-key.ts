import { createHash, randomBytes } from 'node:crypto';

export const ROLES = ['staff', 'ops', 'publisher'] as const;
export type Role = (typeof ROLES)[number];

/** Metadata key under which @Roles stores the roles a route allows. */
export const ROLES_KEY = 'switchboard:roles';

/** Who is calling: recorded as the actor of every admin action in the audit log. */
export interface Actor {
  keyId: string | null;
  name: string;
  role: Role;
  /** The request the key came with (its X-Request-Id), for the log lines of what it does. */
  correlationId?: string;
}

export function generateApiKey(role: Role): string {
  return `sb_${role}_${randomBytes(32).toString('base64url')}`;
}

export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** The part of a key that is safe to show in listings: `sb_<role>_` and six characters. */
export function keyPrefix(key: string): string {
  return key.slice(0, key.indexOf('_', 3) + 7);
}
