import { JobsOptions } from 'bullmq';

/**
 * One job per operation, named by it: adding it again while it is queued or running is a no-op. It leaves
 * the queue once done, so a running operation whose job is gone can be queued again (OperationRelay).
 */
export function operationJobOptions(operationId: string): JobsOptions {
  return {
    jobId: operationId,
    // Infrastructure errors (Postgres or Redis away): each retry resumes from the recorded cursor.
    attempts: 20,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}
