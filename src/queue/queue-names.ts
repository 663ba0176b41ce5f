/** Every queue, and the payload of each job. Payloads hold ids only: content never enters Redis. */
export enum QueueName {
  InboundEvents = 'inbound-events',
  Maintenance = 'maintenance',
}

export const JobName = {
  ProcessInboundEvent: 'process-inbound-event',
  RunRetention: 'run-retention',
} as const;

export interface ProcessInboundEventJob {
  eventId: string;
}

/** A retention run; it carries nothing (the retention periods are read from configuration when it runs). */
export type RunRetentionJob = Record<string, never>;

/** The custom backoff type every job uses; see retryDelay. */
export const BACKOFF_TYPE = 'jittered-exponential';
