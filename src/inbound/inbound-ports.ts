import { AccountPorts } from '../accounts/accounts.module';
import { PortBinding } from '../platform/ports';
import { MessageStoredListener } from './processing/message-stored.port';

/** What inbound tells the rooms above it, bound once by the composition (app.module.ts). */
export interface InboundPorts {
  messageStored: PortBinding<MessageStoredListener>;
  /** What the accounts room tells (processing tells it of refused tokens). */
  accounts: AccountPorts;
}
