import { randomBytesPooled } from './random-pool';

/**
 * UUID version 7: time-ordered, so primary-key inserts stay at the right edge of the B-tree, and ids can
 * be made by the application before the INSERT (one statement can then write rows that reference each other).
 */
export function uuidv7(now = Date.now()): string {
  const bytes = randomBytesPooled(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
