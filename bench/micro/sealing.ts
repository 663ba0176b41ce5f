import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { DataCipher, sealedIn } from '../../src/platform/crypto/data-cipher';
import { randomBytesPooled } from '../../src/platform/crypto/random-pool';

/**
 * What the keyring and row binding cost per seal and per open: the sealed format before keyrings (v1: one
 * key, no associated data; the DataCipher code as it was) against today's (v2: key id in the header,
 * associated data = table, column and row id). Nanoseconds per operation, best of five, for a DM event
 * payload, a webhook body and a large body. `tsc -p tsconfig.bench.json && node dist-bench/bench/micro/sealing.js`
 */
const ROUNDS = 5;

class V1Cipher {
  constructor(private readonly key: Buffer) {}

  encrypt(plain: Buffer | string): Buffer {
    const iv = randomBytesPooled(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([Buffer.of(1), iv, cipher.getAuthTag(), body]);
  }

  decrypt(sealed: Buffer): Buffer {
    const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(1, 13));
    decipher.setAuthTag(sealed.subarray(13, 29));
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]);
  }
}

function perOp(count: number, work: (i: number) => unknown): number {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) work(i);
    best = Math.min(best, Number(process.hrtime.bigint() - started) / count);
  }
  return best;
}

function main(): void {
  const key = randomBytes(32);
  const v1 = new V1Cipher(key);
  const v2 = new DataCipher({
    keys: [
      { id: 'k2', key },
      { id: 'k0', key: randomBytes(32) },
    ],
    fingerprintKey: key,
  });
  const binding = sealedIn('inbound_events.payload', '0193a8e0-0000-7000-8000-000000000001');
  const lines: string[] = [];
  for (const [name, size, count] of [
    ['DM event payload, 300 B', 300, 200_000],
    ['webhook body, 2 KB', 2048, 100_000],
    ['large body, 64 KB', 65_536, 5_000],
  ] as const) {
    const plain = randomBytes(size);
    const sealedV1 = v1.encrypt(plain);
    const sealedV2 = v2.encrypt(plain, binding);
    // Interleaved, so a busy neighbour on the machine slows both alike.
    const results = { sealV1: Infinity, sealV2: Infinity, openV1: Infinity, openV2: Infinity };
    for (let pass = 0; pass < 3; pass++) {
      results.sealV1 = Math.min(
        results.sealV1,
        perOp(count, () => v1.encrypt(plain)),
      );
      results.sealV2 = Math.min(
        results.sealV2,
        perOp(count, () => v2.encrypt(plain, binding)),
      );
      results.openV1 = Math.min(
        results.openV1,
        perOp(count, () => v1.decrypt(sealedV1)),
      );
      results.openV2 = Math.min(
        results.openV2,
        perOp(count, () => v2.decrypt(sealedV2, binding)),
      );
    }
    lines.push(
      `${name.padEnd(24)} seal ${results.sealV1.toFixed(0)} → ${results.sealV2.toFixed(0)} ns (×${(results.sealV2 / results.sealV1).toFixed(2)})` +
        `   open ${results.openV1.toFixed(0)} → ${results.openV2.toFixed(0)} ns (×${(results.openV2 / results.openV1).toFixed(2)})`,
    );
  }
  process.stdout.write(`v1 (before keyrings) → v2 (key id, row-bound), best of ${ROUNDS}×3:\n${lines.join('\n')}\n`);
}

main();
