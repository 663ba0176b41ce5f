import { DynamicModule, Type } from '@nestjs/common';
import { MessageStoredListener } from './processing/message-stored.port';

/** A port's implementation: the class, and the module that provides it. */
export interface PortBinding<T> {
  module: Type | DynamicModule;
  use: Type<T>;
}

/** What inbound tells the rooms above it, bound once by the composition (app.module.ts). */
export interface InboundPorts {
  messageStored: PortBinding<MessageStoredListener>;
}
