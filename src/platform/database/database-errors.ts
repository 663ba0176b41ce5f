import { DatabaseError } from 'pg';

/**
 * SQLSTATE classes where Postgres refused what a statement carried, not the connection or the server:
 * 21 cardinality, 22 data exception, 23 integrity constraint, 44 check option, 54 program limit
 * (an index row too large), P0 raised by a function or trigger.
 */
const DATA_ERROR_CLASSES = new Set(['21', '22', '23', '44', '54', 'P0']);

/** The SQLSTATE of an error Postgres reported, or undefined (network, timeout, anything thrown on our side). */
export function sqlStateOf(error: unknown): string | undefined {
  const driverError = (error as { driverError?: unknown } | null)?.driverError ?? error;
  return driverError instanceof DatabaseError && typeof driverError.code === 'string' ? driverError.code : undefined;
}

/** The statement's data was refused: the same statement without the offending item would succeed. */
export function isDataError(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && DATA_ERROR_CLASSES.has(state.slice(0, 2));
}

/**
 * What a failed database call says about itself, safe to log: the SQLSTATE when Postgres answered, else
 * the error's class name and its code (a Node errno such as ECONNRESET). Never a message: a driver's
 * message can quote the values it refused.
 */
export function describeDatabaseError(error: unknown): { sqlState?: string; cause: string } {
  const sqlState = sqlStateOf(error);
  if (sqlState) return { sqlState, cause: 'refused' };
  if (!(error instanceof Error)) return { cause: typeof error };
  const code = (error as { code?: unknown }).code;
  if (/timeout/i.test(error.message) && error.name === 'Error') return { cause: 'timeout' };
  if (/Connection terminated/i.test(error.message)) return { cause: 'connection_lost' };
  return { cause: typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? code : error.name };
}
