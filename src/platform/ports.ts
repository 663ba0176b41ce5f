import { DynamicModule, Type } from '@nestjs/common';

/**
 * How a room is told what a room above it implements: the class, and the module that provides it. The
 * composition (app.module.ts) binds each port once; the room below never imports the room above.
 */
export interface PortBinding<T> {
  module: Type | DynamicModule;
  use: Type<T>;
}
