import { v7 } from 'uuid';

/**
 * UUID version 7: time-ordered, so primary-key inserts stay at the right edge of the B-tree, and ids can
 * be made by the application before the INSERT (one statement can then write rows that reference each other).
 */
export function uuidv7(now?: number): string {
  return now === undefined ? v7() : v7({ msecs: now });
}
