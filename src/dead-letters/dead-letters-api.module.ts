import { DynamicModule, Module } from '@nestjs/common';
import { OperationsModule } from '../platform/operations/operations.module';
import { PortBinding } from '../platform/ports';
import { ProvidersModule } from '../providers/providers.module';
import { DeadLetterOperationsModule } from './dead-letter-operations.module';
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
      imports: [DeadLettersModule, OperationsModule, ProvidersModule, DeadLetterOperationsModule.register(ports)],
      controllers: [DeadLettersController],
      providers: [DeadLetterService],
    };
  }
}
