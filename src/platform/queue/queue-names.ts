/** Every queue, and the payload of each job. Payloads hold ids only: content never enters Redis. */
export enum QueueName {
  InboundEvents = 'inbound-events',
  OutboundDeliveries = 'outbound-deliveries',
  Maintenance = 'maintenance',
  Operations = 'operations',
  OutgoingMessages = 'outgoing-messages',
}

export const JobName = {
  ProcessInboundEvent: 'process-inbound-event',
  DeliverOutbound: 'deliver-outbound',
  DeliverOutboundBatch: 'deliver-outbound-batch',
  RunRetention: 'run-retention',
  RefreshAccountTokens: 'refresh-account-tokens',
  RunOperation: 'run-operation',
  SendMessage: 'send-message',
} as const;

/** A message of POST /messages to send: its row holds the rest (the text sealed). */
export interface SendMessageJob {
  messageId: string;
}

export interface ProcessInboundEventJob {
  eventId: string;
}

/** A retention run; it carries nothing (the retention periods are read from configuration when it runs). */
export type RunRetentionJob = Record<string, never>;

/** The daily refresh of account tokens close to their expiry; it carries nothing either. */
export type RefreshAccountTokensJob = Record<string, never>;

/** Every maintenance job's payload. */
export type MaintenanceJob = RunRetentionJob | RefreshAccountTokensJob;

/** A durable operation's run: its row holds everything else (kind, filter, cursor). */
export interface RunOperationJob {
  operationId: string;
}

export interface DeliverOutboundJob {
  deliveryId: string;
  /** Epoch ms of a rate-limit slot this job already holds (set when it was delayed to wait for it). */
  slotAt?: number;
  /** Times in a row the job found its endpoint at its concurrency cap: it waits longer each time. */
  busy?: number;
}

/** Up to a hundred deliveries, sent by one job: a page of one event's fan-out, or the bridge's events of one batch. */
export interface DeliverOutboundBatchJob {
  deliveryIds: string[];
}

/** The custom backoff type every job uses; see retryDelay. */
export const BACKOFF_TYPE = 'jittered-exponential';
