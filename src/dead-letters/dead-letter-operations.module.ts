import { DynamicModule, Module } from '@nestjs/common';
import { PortBinding } from '../platform/ports';
import { DeadLetterReplayOperation } from './dead-letter-replay.operation';
import { DeadLetterReplayer } from './dead-letter-replayer.port';
import { DeadLettersModule } from './dead-letters.module';

/** The bulk replay as an operation kind: started by the API, run by the operations consumer. */
@Module({})
export class DeadLetterOperationsModule {
  static register(ports: { replayer: PortBinding<DeadLetterReplayer> }): DynamicModule {
    return {
      module: DeadLetterOperationsModule,
      imports: [DeadLettersModule, ports.replayer.module],
      providers: [DeadLetterReplayOperation, { provide: DeadLetterReplayer, useExisting: ports.replayer.use }],
      exports: [DeadLetterReplayOperation, DeadLetterReplayer],
    };
  }
}
