/** Every action the audit log records. Entries carry ids and categories, never message content. */
export const AuditAction = {
  WebhookRejected: 'webhook.rejected',
  WebhookMalformed: 'webhook.malformed',
  EventReceived: 'event.received',
  EventDuplicate: 'event.duplicate',
  EventProcessed: 'event.processed',
  EventAttemptFailed: 'event.attempt_failed',
  EventDeadLettered: 'event.dead_lettered',
  ReplySent: 'reply.sent',
  ReplySkipped: 'reply.skipped',
  ReplyUnknown: 'reply.unknown',
  ReplyFailed: 'reply.failed',
  ReplyReconciled: 'reply.reconciled',
  ReplyHeld: 'reply.held',
  ConversationHandoff: 'conversation.handoff',
  MessageQueued: 'message.queued',
  MessageSent: 'message.sent',
  MessageSkipped: 'message.skipped',
  MessageUnknown: 'message.unknown',
  MessageFailed: 'message.failed',
  ApiKeyCreated: 'apikey.created',
  ApiKeyRevoked: 'apikey.revoked',
  DeadLetterPayloadViewed: 'deadletter.payload_viewed',
  DeadLetterReplayed: 'deadletter.replayed',
  DeadLetterBulkReplay: 'deadletter.bulk_replay',
  DeadLetterPurged: 'deadletter.purged',
  DeadLetterAlert: 'deadletter.alert',
  AuditLogExported: 'auditlog.exported',
  VipSenderAdded: 'vipsender.added',
  VipSenderRemoved: 'vipsender.removed',
  OutboundEndpointCreated: 'outbound.endpoint_created',
  OutboundEndpointUpdated: 'outbound.endpoint_updated',
  OutboundEndpointDeleted: 'outbound.endpoint_deleted',
  OutboundEndpointDisabled: 'outbound.endpoint_disabled',
  OutboundEndpointEnabled: 'outbound.endpoint_enabled',
  OutboundSecretRotated: 'outbound.secret_rotated',
  OutboundEventTriggered: 'outbound.event_triggered',
  OutboundDeliveryDeadLettered: 'outbound.delivery_dead_lettered',
  OutboundDeliveriesRequeued: 'outbound.deliveries_requeued',
  OutboundAttemptResponseViewed: 'outbound.attempt_response_viewed',
  RetentionRun: 'maintenance.retention',
  AccountCreated: 'account.created',
  AccountUpdated: 'account.updated',
  AccountDeleted: 'account.deleted',
  AccountPaused: 'account.paused',
  AccountResumed: 'account.resumed',
  AccountNeedsToken: 'account.needs_token',
  AccountTokenRefreshed: 'account.token_refreshed',
  AccountTokenRefreshFailed: 'account.token_refresh_failed',
  OperationCancelled: 'operation.cancelled',
  ParticipantErased: 'participant.erased',
  EncryptionReencrypted: 'encryption.reencrypted',
} as const;
export type AuditActionName = (typeof AuditAction)[keyof typeof AuditAction] | (string & {});

export type AuditOutcome = 'success' | 'failure' | 'rejected' | 'duplicate' | 'skipped' | 'unknown' | 'info';

export interface AuditEntry {
  action: AuditActionName;
  outcome: AuditOutcome;
  provider?: string | null;
  eventId?: string | null;
  correlationId?: string | null;
  actor?: string;
  /** Content-free details: ids, counts, categories, status codes. */
  metadata?: Record<string, unknown>;
}

/**
 * The routine "processed" step, folded into the entry written with it (one audit row instead of two): the
 * audit log (`audit_entries`) still lists it as an `event.processed` entry of its own, right after.
 */
export function foldProcessed(entry: AuditEntry, kind: string): AuditEntry {
  return { ...entry, metadata: { ...entry.metadata, _processed: kind } };
}

/**
 * Why a reply was skipped (`reply.skipped`) or held (`reply.held`): the `reason` of their metadata, a filter of
 * the audit log. The conversation policy's reasons first (docs/conversations.md).
 */
export const REPLY_REASONS = [
  'handoff',
  'window_closed',
  'cooldown',
  'after_hours_disabled',
  'disabled',
  'standby',
  'paused',
  'needs_token',
] as const;
