import { DynamicModule, Global, Module } from '@nestjs/common';
import { PortBinding } from '../ports';
import { OperationalEvents } from './operational-events';

/** Binds the OperationalEvents port for every room of every process (app.module.ts names the implementation). */
@Global()
@Module({})
export class OperationalEventsModule {
  static register(binding: PortBinding<OperationalEvents>): DynamicModule {
    return {
      module: OperationalEventsModule,
      imports: [binding.module],
      providers: [{ provide: OperationalEvents, useExisting: binding.use }],
      exports: [OperationalEvents],
    };
  }
}
