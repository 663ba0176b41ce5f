/**
 * One batch of a clean-up step (retention) in the words of the table's owner: `pick` selects the oldest
 * rows (`$1` is the cutoff; the caller adds the LIMIT and the row locks), `change` updates or deletes
 * them, joined as `doomed`.
 */
export interface RowBatch {
  pick: string;
  change: string;
}
