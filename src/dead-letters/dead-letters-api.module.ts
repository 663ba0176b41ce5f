import { DynamicModule, Module } from '@nestjs/common';
import { PortBinding } from '../platform/ports';
import { DeadLetterReplayer } from './dead-letter-replayer.port';
import { DeadLetterService } from './dead-letter.service';
import { DeadLettersController } from './dead-letters.controller';
import { DeadLettersModule } from './dead-letters.module';

/** What an operator does with dead letters (API process): list, inspect, replay, purge. */
@Module({})
export class DeadLettersApiModule {
  static register(ports: { replayer: PortBinding<DeadLetterReplayer> }): DynamicModule {
    return {
      module: DeadLettersApiModule,
      imports: [DeadLettersModule, ports.replayer.module],
      controllers: [DeadLettersController],
      providers: [DeadLetterService, { provide: DeadLetterReplayer, useExisting: ports.replayer.use }],
    };
  }
}
