import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

/**
 * The house rules of docs/ARCHITECTURE.md that a machine can check, over src/'s TypeScript imports and SQL.
 * test/architecture.spec.ts runs them in `npm test`.
 */

/** The rooms, lowest first: a room imports only from its own layer and those below. */
export const LAYERS = [
  'platform',
  'audit',
  'providers',
  'accounts',
  'dead-letters',
  'inbound',
  'messages',
  'outbound',
  'ops',
  'ui',
] as const;
/** main.ts, worker.ts, app.module.ts, bootstrap.ts and cli/ compose the processes: above every room. */
const COMPOSITION = 'composition';

/** Each table's one author (a folder under src/): nobody else writes INSERT, UPDATE or DELETE on it. */
export const TABLE_OWNERS: Record<string, string> = {
  webhook_receipts: 'inbound/store',
  inbound_events: 'inbound/store',
  inbound_enqueue_outbox: 'inbound/store',
  conversations: 'inbound/processing',
  messages: 'inbound/processing',
  replies: 'inbound/processing',
  vip_senders: 'inbound/priority',
  dead_letters: 'dead-letters',
  audit_log: 'audit',
  webhook_rejection_tallies: 'audit',
  api_keys: 'platform/auth',
  outbound_endpoints: 'outbound/endpoints',
  outbound_events: 'outbound/delivery',
  outbound_deliveries: 'outbound/delivery',
  outbound_attempts: 'outbound/delivery',
  schema_migrations: 'platform/database',
  accounts: 'accounts',
  operations: 'platform/operations',
  outgoing_messages: 'messages',
};

/** Rooms whose modules may be @Global(): what every process stands on. */
const GLOBAL_ROOMS = new Set(['platform', 'audit']);

export interface SourceFile {
  /** Relative to src/, with forward slashes. */
  path: string;
  text: string;
  /** Relative to src/: the src files it imports. */
  imports: string[];
}

/** Every .ts file under `srcDir` (specs included: they follow the rules too; migrations are skipped for SQL). */
export function readSources(srcDir: string): SourceFile[] {
  const files = walk(srcDir).filter((file) => file.endsWith('.ts'));
  const known = new Set(files.map((file) => relative(srcDir, file).split(sep).join('/')));
  return files.map((file) => {
    const text = readFileSync(file, 'utf8');
    const imports = ts
      .preProcessFile(text, true, true)
      .importedFiles.map((imported) => imported.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) =>
        relative(srcDir, resolve(dirname(file), name))
          .split(sep)
          .join('/'),
      )
      .map((name) => (known.has(`${name}.ts`) ? `${name}.ts` : `${name}/index.ts`))
      .filter((name) => known.has(name));
    return { path: relative(srcDir, file).split(sep).join('/'), text, imports };
  });
}

/** The room a file is in: its first folder under src/, or the composition. */
export function roomOf(path: string): string {
  const [first, ...rest] = path.split('/');
  return rest.length > 0 && (LAYERS as readonly string[]).includes(first) ? first : COMPOSITION;
}

function layerOf(room: string): number {
  return room === COMPOSITION ? LAYERS.length : LAYERS.indexOf(room as (typeof LAYERS)[number]);
}

/** `inbound/store` for src/inbound/store/x.ts; undefined for a file directly in its room's folder. */
function subRoomOf(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length > 2 && roomOf(path) !== COMPOSITION ? `${parts[0]}/${parts[1]}` : undefined;
}

/** Everything that breaks a rule, one line each (empty: the house is in order). */
export function checkArchitecture(files: readonly SourceFile[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const room = roomOf(file.path);
    for (const target of file.imports) {
      const targetRoom = roomOf(target);
      if (layerOf(targetRoom) > layerOf(room)) {
        problems.push(`layers: ${file.path} (${room}) imports ${target} (${targetRoom}), a room above it`);
      }
      // The entry points build their own objects (the CLI has no Nest container); rooms use each other's services.
      if (target.endsWith('.repository.ts') && targetRoom !== room && room !== COMPOSITION) {
        problems.push(`repositories: ${file.path} imports ${target}: another room's repository`);
      }
    }
    if (/@Global\(\)/.test(file.text) && !GLOBAL_ROOMS.has(room)) {
      problems.push(`@Global: ${file.path} is in ${room}; only ${[...GLOBAL_ROOMS].join(' and ')} are global`);
    }
    if (!file.path.includes('/migrations/') && !file.path.endsWith('.spec.ts')) {
      for (const match of file.text.matchAll(/\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_]+)\b/g)) {
        const owner = TABLE_OWNERS[match[1]];
        if (owner && !file.path.startsWith(`${owner}/`)) {
          problems.push(`tables: ${file.path} writes ${match[1]}, which ${owner} owns (use its *.sql.ts or service)`);
        }
      }
    }
  }
  const edges = (key: (path: string) => string | undefined) => {
    const graph = new Map<string, Set<string>>();
    for (const file of files) {
      const from = key(file.path);
      if (from === undefined) continue;
      for (const target of file.imports) {
        const to = key(target);
        if (to === undefined || to === from) continue;
        if (!graph.has(from)) graph.set(from, new Set());
        graph.get(from)!.add(to);
      }
    }
    return graph;
  };
  for (const cycle of cycles(edges(roomOf))) problems.push(`cycles: rooms ${cycle.join(' -> ')}`);
  for (const cycle of cycles(edges(subRoomOf))) problems.push(`cycles: folders ${cycle.join(' -> ')}`);
  for (const cycle of cycles(edges((path) => path))) problems.push(`cycles: files ${cycle.join(' -> ')}`);
  return problems;
}

/** The strongly connected components with more than one node (Tarjan), each as a closed path of its nodes. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    indexOf.set(node, index);
    low.set(node, index++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!indexOf.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(node, Math.min(low.get(node)!, indexOf.get(next)!));
    }
    if (low.get(node) === indexOf.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push([...component.reverse(), component[0]]);
    }
  };
  for (const node of graph.keys()) if (!indexOf.has(node)) visit(node);
  return found;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
