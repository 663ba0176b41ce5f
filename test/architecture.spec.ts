import { join } from 'node:path';
import { checkArchitecture, readSources, SourceFile } from '../scripts/architecture';

/** docs/ARCHITECTURE.md's rules, checked over src/ (no database, no Redis). */
describe('the house rules', () => {
  const files = readSources(join(__dirname, '..', 'src'));

  it('hold for src/', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(checkArchitecture(files)).toEqual([]);
  });

  it('catch an import that breaks them', () => {
    const bad = (path: string, imports: string[], text = ''): SourceFile => ({ path, imports, text });
    expect(
      checkArchitecture([
        bad('inbound/processing/x.ts', ['outbound/events/y.ts']),
        bad('outbound/events/y.ts', ['inbound/processing/x.ts']),
        bad('ops/admin/z.ts', ['inbound/store/inbound-event.repository.ts']),
        bad('inbound/store/inbound-event.repository.ts', []),
        bad('outbound/delivery/w.ts', [], '`UPDATE replies SET status = $1`'),
        bad('dead-letters/v.module.ts', [], '@Global()\n@Module({})'),
      ]),
    ).toEqual([
      'layers: inbound/processing/x.ts (inbound) imports outbound/events/y.ts (outbound), a room above it',
      "repositories: ops/admin/z.ts imports inbound/store/inbound-event.repository.ts: another room's repository",
      'tables: outbound/delivery/w.ts writes replies, which inbound/processing owns (use its *.sql.ts or service)',
      '@Global: dead-letters/v.module.ts is in dead-letters; only platform and audit are global',
      'cycles: rooms inbound -> outbound -> inbound',
      'cycles: folders inbound/processing -> outbound/events -> inbound/processing',
      'cycles: files inbound/processing/x.ts -> outbound/events/y.ts -> inbound/processing/x.ts',
    ]);
  });
});
