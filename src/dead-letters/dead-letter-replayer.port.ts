/** A pending event dead letter put back in the pipeline, with the job that now carries its event. */
export interface ReplayedEvent {
  id: string;
  eventId: string;
  jobId: string;
}

/**
 * Whether a dead letter's reply could still go out if replayed now: within Meta's 24 h window (`replyable`),
 * only with the HUMAN_AGENT tag, i.e. by a person through POST /messages (`human_agent`, Instagram and
 * Messenger up to 7 days), not at all (`window_closed`), or it is no message that takes a reply (`no_reply`).
 */
export type ReplyWindow = 'replyable' | 'human_agent' | 'window_closed' | 'no_reply';

/** A malformed-body dead letter to read again. */
export interface ReceiptLetter {
  id: string;
  receiptId: string;
  provider: string;
  correlationId: string | null;
  sealedBody: Buffer;
}

/**
 * Replays what inbound dead-lettered. Dead letters only keep the records; inbound implements this (it owns
 * the events, their replies and the queue) and the composition binds it, so dead-letters never imports inbound.
 * Errors are DeadLetterErrors.
 */
export abstract class DeadLetterReplayer {
  /**
   * Puts pending event dead letters back in the pipeline and queues them; locked or non-pending ones are
   * skipped. When the queue refuses, nothing is replayed: `queue_unavailable`.
   */
  abstract replayEvents(ids: readonly string[], actor: string, bulkReplayId: string | null): Promise<ReplayedEvent[]>;
  /** Parses the stored body again and stores its events: their ids, or null when the letter was not pending. */
  abstract replayReceipt(letter: ReceiptLetter, actor: string): Promise<string[] | null>;
  /**
   * Queues again the replayed letters among the ids whose events have not been processed yet, under the
   * job ids they were replayed with (a job still in Redis is not added twice): a bulk replay resumed after
   * a crash between its statement and its `addBulk`. Returns how many of the ids are replayed letters.
   */
  abstract requeueReplayed(ids: readonly string[]): Promise<number>;
  /** The reply window at `at` of each event among the ids (an id without an event is left out). */
  abstract replyWindows(eventIds: readonly string[], at: Date): Promise<Map<string, ReplyWindow>>;
  /** Jobs waiting on the inbound queue (a bulk replay waits while there are too many). */
  abstract waitingJobs(): Promise<number>;
}
