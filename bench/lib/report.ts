import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes';

export interface BenchRow {
  bench: string;
  metric: string;
  value: number | string | null;
  unit: string;
  /** The same figure for the baseline measured in the same run. */
  baseline?: number | null;
  baselineLabel?: string;
  /** value / baseline (or baseline / value for "lower is better" figures; see `lowerIsBetter`). */
  ratio?: number | null;
  lowerIsBetter?: boolean;
  target?: string;
  pass?: boolean | null;
  note?: string;
}

export function ratioOf(value: number | null | undefined, baseline: number | null | undefined, lowerIsBetter = false) {
  if (value == null || baseline == null || value === 0 || baseline === 0) return null;
  return Math.round((lowerIsBetter ? baseline / value : value / baseline) * 100) / 100;
}

const fmt = (value: number | string | null | undefined) =>
  value == null ? '—' : typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 1 }) : value;

export function writeReport(rows: BenchRow[], details: Record<string, unknown>, benches: string[]): string {
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
  } catch {
    // not a git checkout
  }
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const lines = [
    `# Switchboard benchmarks`,
    '',
    `${new Date().toISOString()} · commit ${commit} · ${machine} · benches: ${benches.join(', ')}`,
    '',
    'Everything (app, worker, Postgres, Redis, fake Graph API, load generator, baseline) ran on this machine in this run.',
    '',
    '| bench | metric | switchboard | baseline | ratio | target | ok |',
    '|---|---|---:|---:|---:|---|:-:|',
    ...rows.map(
      (row) =>
        `| ${row.bench} | ${row.metric} | ${fmt(row.value)} ${row.value == null ? '' : row.unit} | ${
          row.baseline == null ? '—' : `${fmt(row.baseline)} ${row.unit}`
        }${row.baselineLabel ? ` (${row.baselineLabel})` : ''} | ${row.ratio == null ? '—' : row.ratio} | ${row.target ?? ''} | ${
          row.pass == null ? '' : row.pass ? '✅' : '❌'
        } |`,
    ),
    '',
    ...rows.filter((row) => row.note).map((row) => `- ${row.bench} / ${row.metric}: ${row.note}`),
    '',
  ];
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.md'), lines.join('\n'));
  writeFileSync(
    join(dir, 'latest.json'),
    JSON.stringify({ at: new Date().toISOString(), commit, machine, benches, rows, details }, null, 2),
  );
  return lines.join('\n');
}
