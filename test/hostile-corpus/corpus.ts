import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The hostile-input corpus: what an attacker, a broken proxy or a confused client may send to the webhook
 * route, each with the answer the contract gives it. Small cases are files listed in manifest.json; large
 * or computed ones are made here, so the repository holds no multi-megabyte files.
 */
export type SignatureKind = 'valid' | 'none' | 'wrong-secret' | 'not-hex' | 'no-prefix' | 'sha1' | 'of-base-message';

export interface Expectation {
  status: 200 | 401 | 404 | 413;
  /** The receipt is dead-lettered as `malformed` with this reason (raw body sealed). */
  malformed?: string;
  /** Events stored for this receipt. */
  events?: number;
  /** Copies of one key folded into its event, audited as `event.duplicate` with the stored event's id. */
  repeats?: number;
  /** Recipient ids (exact strings) the fake Graph API must get an auto-reply for. */
  replyTo?: string[];
  /** Conversations that must exist, by participant id. */
  conversations?: string[];
  /** The kinds of the stored events, in order. */
  kinds?: string[];
  /** A stored message the worker dead-letters as `malformed` (it has no usable sender), by mid. */
  workerMalformed?: string;
}

export interface HostileCase {
  name: string;
  body: Buffer;
  /** null: no content-type header; default application/json. */
  contentType?: string | null;
  signature?: SignatureKind;
  path?: string;
  expect: Expectation;
}

interface ManifestCase extends Omit<HostileCase, 'body'> {
  file: string;
}

const ACCOUNT = '17841400000000001';
const TIME = 1732250000123;

const message = (mid: string, sender: string, extra: Record<string, unknown> = {}) => ({
  sender: { id: sender },
  recipient: { id: ACCOUNT },
  timestamp: TIME,
  message: { mid, text: 'hi' },
  ...extra,
});
const envelope = (items: unknown[]) =>
  JSON.stringify({ object: 'instagram', entry: [{ id: ACCOUNT, time: TIME, messaging: items }] });
const deepArray = (depth: number, inner = '') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;
/** `length` characters that do not compress (Postgres compresses long index entries: repeated ones would fit). */
const incompressible = (length: number, seed: string) => {
  let text = '';
  for (let i = 0; text.length < length; i++) text += createHash('sha256').update(`${seed}:${i}`).digest('base64url');
  return text.slice(0, length);
};
/** A signed body of exactly `size` bytes: the envelope with a padding field. */
const padTo = (json: string, size: number) => json.replace(/}$/, `,"pad":"${'x'.repeat(size - json.length - 9)}"}`);

export function loadCorpus(maxBodyBytes: number): HostileCase[] {
  const manifest = JSON.parse(readFileSync(join(__dirname, 'manifest.json'), 'utf8')) as { cases: ManifestCase[] };
  const files = manifest.cases.map(({ file, ...rest }) => ({ ...rest, body: readFileSync(join(__dirname, file)) }));
  return [...files, ...generated(maxBodyBytes)];
}

/** The signature a case is sent with, when it replays another body's: the base message's file. */
export const baseMessage = (): Buffer => readFileSync(join(__dirname, 'cases', 'base-message.json'));

function generated(maxBodyBytes: number): HostileCase[] {
  const base = baseMessage().toString('utf8');
  const cases: (Omit<HostileCase, 'body'> & { body: string | Buffer })[] = [
    {
      name: 'unsigned, over MAX_BODY_BYTES',
      body: padTo(base, maxBodyBytes + 1),
      signature: 'none',
      expect: { status: 413 },
    },
    { name: 'signed, one byte over MAX_BODY_BYTES', body: padTo(base, maxBodyBytes + 1), expect: { status: 413 } },
    {
      name: 'signed, exactly MAX_BODY_BYTES',
      body: padTo(base.replace('m_hostile_base', 'm_hostile_max'), maxBodyBytes),
      expect: { status: 200, events: 1 },
    },
    {
      name: 'deeply nested arrays (50,000 levels)',
      body: deepArray(50_000),
      expect: { status: 200, malformed: 'not_an_envelope' },
    },
    {
      name: 'deeply nested value inside an entry (50,000 levels)',
      body: `{"object":"instagram","entry":[${deepArray(50_000)}]}`,
      expect: { status: 200, events: 0 },
    },
    {
      name: 'deeply nested objects (20,000 levels)',
      body: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
      expect: { status: 200, malformed: 'not_an_envelope' },
    },
    {
      name: 'a message nested 5,000 levels deep beside a good one',
      body: envelope([message('m_deep_neighbour', 'deep-neighbour'), message('m_deep_5000', 'deep-sender')]).replace(
        '"m_deep_5000","text":"hi"',
        `"m_deep_5000","text":"hi","attachments":${deepArray(5_000, '1')}`,
      ),
      expect: { status: 200, malformed: 'unreadable_items', events: 1, replyTo: ['deep-neighbour'] },
    },
    {
      name: 'an id-less item nested 5,000 levels deep (its fingerprint cannot be taken)',
      body: `{"object":"instagram","entry":[{"id":"${ACCOUNT}","messaging":[{"sender":{"id":"x"},"odd":${deepArray(5_000, '1')}}]}]}`,
      expect: { status: 200, malformed: 'unreadable_items', events: 0 },
    },
    {
      name: 'integers beyond 2^53 in a body nested 100,000 levels deep',
      body: `{"object":"instagram","entry":[${deepArray(100_000, '12345678901234567890')}]}`,
      expect: { status: 200, malformed: 'too_deep' },
    },
    {
      name: 'a mid of 3 KB (beyond the unique index)',
      body: envelope([message(`m_long_${incompressible(3_000, 'mid')}`, 'long-mid-sender')]),
      expect: { status: 200, events: 1, replyTo: ['long-mid-sender'] },
    },
    {
      name: 'a sender id of 3 KB',
      body: envelope([message('m_long_sender', `s${incompressible(3_000, 'sender')}`)]),
      expect: { status: 200, events: 1 },
    },
    {
      name: 'a reaction whose action is 3 KB (a key too long for the index)',
      body: envelope([
        {
          ...message('m_long_reaction', 'long-reaction-sender'),
          message: undefined,
          reaction: { mid: 'm_r', action: incompressible(3_000, 'action') },
        },
      ]),
      expect: { status: 200, events: 1, kinds: ['reaction'] },
    },
    {
      name: '1,000 entries in one body',
      body: JSON.stringify({
        object: 'instagram',
        entry: Array.from({ length: 1_000 }, (_, i) => ({
          id: ACCOUNT,
          time: TIME,
          messaging: [
            {
              sender: { id: 'thousand-sender' },
              recipient: { id: ACCOUNT },
              timestamp: TIME + i,
              reaction: { mid: `m_thousand_${i}`, action: 'react', emoji: '+' },
            },
          ],
        })),
      }),
      expect: { status: 200, events: 1_000 },
    },
    {
      name: 'huge array of messaging items that are not objects (100,000)',
      body: `{"object":"instagram","entry":[{"id":"1","messaging":[${Array(100_000).fill('1').join(',')}]}]}`,
      expect: { status: 200, malformed: 'too_many_events' },
    },
    {
      name: 'huge entry array of nulls',
      body: `{"object":"instagram","entry":[${Array(40_000).fill('null').join(',')}]}`,
      expect: { status: 200, events: 0 },
    },
    {
      name: 'a body of about 9 MB of tiny items',
      body: tinyItems(Math.min(9_000_000, maxBodyBytes)),
      expect: { status: 200, malformed: 'too_many_events' },
    },
  ];
  return cases.map((item) => ({ ...item, body: Buffer.isBuffer(item.body) ? item.body : Buffer.from(item.body) }));
}

/** `{"read":{"watermark":N}}` items up to about `bytes`. */
function tinyItems(bytes: number): string {
  const head = `{"object":"instagram","entry":[{"id":"${ACCOUNT}","messaging":[`;
  const items: string[] = [];
  let size = head.length + 4;
  for (let i = 0; size < bytes - 40; i++) {
    const item = `{"read":{"watermark":${i}}}`;
    items.push(item);
    size += item.length + 1;
  }
  return `${head}${items.join(',')}]}]}`;
}
