import { InboundPipeline1763800000000 } from './1763800000000-inbound-pipeline';
import { ApiKeys1763800000100 } from './1763800000100-api-keys';
import { OpsSurfaces1763800000200 } from './1763800000200-ops-surfaces';
import { OutboundWebhooks1763800000300 } from './1763800000300-outbound-webhooks';
import { RetentionIndexes1763800000400 } from './1763800000400-retention-indexes';
import { ReplyPacing1763800000500 } from './1763800000500-reply-pacing';
import { EnqueueOutbox1763800000700 } from './1763800000700-enqueue-outbox';
import { EndpointSealedVersion1763800000800 } from './1763800000800-endpoint-sealed-version';
import { MessageRetentionByReceipt1763800000930 } from './1763800000930-message-retention-by-receipt';
import { OutboundAnswersSealed1763800001300 } from './1763800001300-outbound-answers-sealed';
import { EndpointPreviousSecrets1763800001400 } from './1763800001400-endpoint-previous-secrets';
import { WebhookRejectionTallies1763800001500 } from './1763800001500-webhook-rejection-tallies';
import { Accounts1763800002000 } from './1763800002000-accounts';
import { Operations1763800003000 } from './1763800003000-operations';
import { OutboundEventTrace1763800003100 } from './1763800003100-outbound-event-trace';
import { EventPayloadInReceipt1763800005000 } from './1763800005000-event-payload-in-receipt';
import { AuditFoldedSteps1763800005100 } from './1763800005100-audit-folded-steps';
import { DropUnusedReceivedAtIndexes1763800005200 } from './1763800005200-drop-unused-received-at-indexes';
import { ConversationPolicy1763800006000 } from './1763800006000-conversation-policy';
import { OutgoingMessages1763800006100 } from './1763800006100-outgoing-messages';
import { AuditAccess1763800007000 } from './1763800007000-audit-access';

/** Every migration, in order. A new migration is added here in the same commit as its file. */
export const MIGRATIONS = [
  InboundPipeline1763800000000,
  ApiKeys1763800000100,
  OpsSurfaces1763800000200,
  OutboundWebhooks1763800000300,
  RetentionIndexes1763800000400,
  ReplyPacing1763800000500,
  EnqueueOutbox1763800000700,
  EndpointSealedVersion1763800000800,
  MessageRetentionByReceipt1763800000930,
  OutboundAnswersSealed1763800001300,
  EndpointPreviousSecrets1763800001400,
  WebhookRejectionTallies1763800001500,
  Accounts1763800002000,
  Operations1763800003000,
  OutboundEventTrace1763800003100,
  EventPayloadInReceipt1763800005000,
  AuditFoldedSteps1763800005100,
  DropUnusedReceivedAtIndexes1763800005200,
  ConversationPolicy1763800006000,
  OutgoingMessages1763800006100,
  AuditAccess1763800007000,
];
