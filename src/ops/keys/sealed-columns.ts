import { accountSealedColumns } from '../../accounts/account.sql';
import { messageSealedColumns } from '../../inbound/processing/conversation.sql';
import { inboundStoreSealedColumns } from '../../inbound/store/event-store.sql';
import { outgoingMessageSealedColumns } from '../../messages/outgoing-message.sql';
import { deliverySealedColumns } from '../../outbound/delivery/delivery.sql';
import { endpointSealedColumns } from '../../outbound/endpoints/endpoint.sql';
import { SealedColumn } from '../../platform/crypto/sealed-column';

/** Every sealed column of every room, in the order re-encryption walks them (small tables first). */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  ...endpointSealedColumns,
  ...accountSealedColumns,
  ...inboundStoreSealedColumns,
  ...messageSealedColumns,
  ...outgoingMessageSealedColumns,
  ...deliverySealedColumns,
];
