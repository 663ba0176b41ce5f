import { Client } from 'pg';
import { STORE_RECEIPTS } from '../src/inbound/store/inbound-event.repository';
import { createTestDatabase, TestDatabase } from './support/test-database';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/**
 * The webhook's statement runs as a named prepared statement, and Postgres keeps the generic plan it makes
 * after five runs for as long as the connection lives. Made while the tables are empty, a plan that joins
 * inbound_events by hashing it (as the duplicate lookup once did) scans the whole table on every webhook
 * once it has grown: Postgres CPU per receipt went 83 → 482 µs over 72,000 receipts. On empty tables, the
 * generic plan must reach stored rows by index only.
 */
describe('the ingest statement', () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    client = new Client({ connectionString: db.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('has a generic plan that reads no table sequentially, made on empty tables', async () => {
    await client.query('SET plan_cache_mode = force_generic_plan');
    await client.query(`PREPARE store_receipts AS ${STORE_RECEIPTS}`);
    const parameters = Math.max(...[...STORE_RECEIPTS.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
    const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      `EXPLAIN (FORMAT JSON) EXECUTE store_receipts(${Array.from({ length: parameters }, () => 'NULL').join(', ')})`,
    );
    const nodes = nodesOf(rows[0]['QUERY PLAN'][0].Plan);
    // Writes name their table too; a read of a table without an index is a sequential (or bitmap) scan.
    const tableScans = nodes.filter(
      (node) => node['Node Type'] !== 'ModifyTable' && node['Relation Name'] !== undefined && !node['Index Name'],
    );
    const writes = nodes.filter((node) => node['Node Type'] === 'ModifyTable').map((node) => node['Relation Name']);

    expect(tableScans.map((node) => `${node['Node Type']} on ${node['Relation Name']}`)).toEqual([]);
    // The plan is the whole statement: receipts, events, outbox, dead letters and audit entries.
    expect(writes.sort()).toEqual(
      ['audit_log', 'dead_letters', 'inbound_enqueue_outbox', 'inbound_events', 'webhook_receipts'].sort(),
    );
    // The duplicate lookup is there, as an index probe.
    expect(nodes.some((node) => node['Index Name'] === 'inbound_events_idempotency_key')).toBe(true);
  });
});
