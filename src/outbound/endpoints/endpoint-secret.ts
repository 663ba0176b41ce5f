import { LRUCache } from 'lru-cache';
import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';
/**
 * Rotated-out secrets that keep signing next to the current one, each until its own grace period ends
 * (OUTBOUND_ROTATION_GRACE_HOURS after it was rotated out): at most 5 signatures per delivery. Past this,
 * a rotation drops the previous secret that would expire first.
 */
export const MAX_PREVIOUS_SECRETS = 4;

/** A new endpoint secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks format). */
export function generateEndpointSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/**
 * Standard Webhooks headers for one attempt, as a flat name/value list. During a rotation every secret still inside its grace period
 * signs: a subscriber on any of them verifies (signatures are space-separated).
 */
export function signDelivery(
  secrets: readonly string[],
  webhookId: string,
  atMs: number,
  body: string,
): ['webhook-id', string, 'webhook-timestamp', string, 'webhook-signature', string] {
  const timestamp = String(Math.floor(atMs / 1000));
  const signed = `${webhookId}.${timestamp}.${body}`;
  return [
    'webhook-id',
    webhookId,
    'webhook-timestamp',
    timestamp,
    'webhook-signature',
    secrets.map((secret) => `v1,${createHmac('sha256', signingKey(secret)).update(signed).digest('base64')}`).join(' '),
  ];
}

const keys = new LRUCache<string, Buffer>({ max: 10_000 });

/** The HMAC key is the base64 after `whsec_`, decoded once per secret. */
function signingKey(secret: string): Buffer {
  let key = keys.get(secret);
  if (!key) {
    key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
    keys.set(secret, key);
  }
  return key;
}
