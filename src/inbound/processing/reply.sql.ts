/** SQL for writing replies from other statements (a dead letter, a replay), processing being their only author. */

/** The event's unfinished reply failed with it (`eventId`, `category`: SQL expressions). */
export function failReply(eventId: string, category: string): string {
  return `UPDATE replies SET status = 'failed', last_error_category = ${category}, updated_at = now()
          WHERE event_id = ${eventId} AND status IN ('sending', 'retrying')`;
}

/** Failed replies of the replayed letters (`letters`: a relation with `event_id`) may be sent again; a sent one is never touched. */
export function repliesBackToRetrying(letters: string): string {
  return `UPDATE replies r SET status = 'retrying', updated_at = now()
           FROM ${letters} m WHERE r.event_id = m.event_id AND r.status = 'failed'`;
}

/** Undoes repliesBackToRetrying for a replay that could not be queued. */
export function repliesBackToFailed(letters: string): string {
  return `UPDATE replies r SET status = 'failed', updated_at = now()
           FROM ${letters} l WHERE r.event_id = l.event_id AND r.status = 'retrying'`;
}
