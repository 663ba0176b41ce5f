/** Every queue, and the payload of each job. Payloads hold ids only: content never enters Redis. */
export enum QueueName {
  InboundEvents = 'inbound-events',
}

export const JobName = {
  ProcessInboundEvent: 'process-inbound-event',
} as const;

export interface ProcessInboundEventJob {
  eventId: string;
}

/** The custom backoff type every job uses; see retryDelay. */
export const BACKOFF_TYPE = 'jittered-exponential';
