import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

/** The tables a message touches, and the others the bench looks at. */
export const HOT_TABLES = [
  'webhook_receipts',
  'inbound_events',
  'inbound_enqueue_outbox',
  'audit_log',
  'conversations',
  'messages',
  'replies',
  'dead_letters',
] as const;

/** pg_total_relation_size (heap, TOAST and indexes) of each table, and each index's own size. */
export async function relationSizes(
  client: Client,
): Promise<{ tables: Record<string, number>; indexes: Record<string, number> }> {
  const { rows } = await client.query<{ name: string; bytes: string }>(
    `SELECT relname AS name, pg_total_relation_size(relid)::bigint AS bytes FROM pg_stat_user_tables`,
  );
  const { rows: indexRows } = await client.query<{ name: string; bytes: string }>(
    `SELECT indexrelname AS name, pg_relation_size(indexrelid)::bigint AS bytes FROM pg_stat_user_indexes`,
  );
  return {
    tables: Object.fromEntries(rows.map((row) => [row.name, Number(row.bytes)])),
    indexes: Object.fromEntries(indexRows.map((row) => [row.name, Number(row.bytes)])),
  };
}

/** Rows inserted, updated (HOT or not) and deleted so far, per table (pg_stat_user_tables). */
export async function rowCounters(
  client: Client,
): Promise<Record<string, { ins: number; upd: number; hot: number; del: number }>> {
  // The counters of this backend's own transaction are not in the view until it ends: a fresh snapshot.
  await client.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await client.query<{ name: string; ins: string; upd: string; hot: string; del: string }>(
    `SELECT relname AS name, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot, n_tup_del AS del
       FROM pg_stat_user_tables`,
  );
  return Object.fromEntries(
    rows.map((row) => [
      row.name,
      { ins: Number(row.ins), upd: Number(row.upd), hot: Number(row.hot), del: Number(row.del) },
    ]),
  );
}

export async function currentLsn(client: Client): Promise<string> {
  const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0].lsn;
}

/**
 * WAL written for one database between two LSNs (pg_walinspect): the records that touch its relations, plus
 * the commit records of the transactions that wrote them. The cluster is shared, so the WAL position alone
 * would count other databases' writes too; `clusterBytes` is that total, for comparison.
 */
export async function walOfDatabase(
  client: Client,
  database: string,
  from: string,
  to: string,
): Promise<{ bytes: number; fpiBytes: number; records: number; clusterBytes: number }> {
  await client.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect');
  const { rows } = await client.query<{ bytes: string; fpi: string; records: string; cluster: string }>(
    `WITH r AS (SELECT * FROM pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)),
          db AS (SELECT oid FROM pg_database WHERE datname = $3),
          mine AS (SELECT r.* FROM r, db WHERE r.block_ref LIKE '%rel %/' || db.oid || '/%'),
          xids AS (SELECT DISTINCT xid FROM mine WHERE xid <> 0),
          counted AS (SELECT * FROM mine
                      UNION ALL
                      SELECT r.* FROM r JOIN xids USING (xid)
                       WHERE r.block_ref IS NULL OR r.block_ref = '')
     SELECT coalesce(sum(record_length), 0)::bigint AS bytes, coalesce(sum(fpi_length), 0)::bigint AS fpi,
            count(*)::bigint AS records, pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::bigint AS cluster
       FROM counted`,
    [from, to, database],
  );
  return {
    bytes: Number(rows[0].bytes),
    fpiBytes: Number(rows[0].fpi),
    records: Number(rows[0].records),
    clusterBytes: Number(rows[0].cluster),
  };
}

/** The pid of the redis-server listening on `port` (shared with other work: its CPU is an upper bound). */
export function redisServerPid(port: number): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const title = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (title.startsWith('redis-server') && title.includes(`:${port}`)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}
