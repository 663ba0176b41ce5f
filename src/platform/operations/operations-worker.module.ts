import { DynamicModule, Module } from '@nestjs/common';
import { PortBinding } from '../ports';
import { OperationKind, OperationKinds } from './operation-kind';
import { OperationProcessor } from './operation.processor';
import { OperationRelay } from './operation.relay';
import { OperationsModule } from './operations.module';

/**
 * The operations consumer, with every kind it can run: each kind is bound by the composition
 * (app.module.ts) from the module of the room it belongs to. Imported only by worker compositions.
 */
@Module({})
export class OperationsWorkerModule {
  static register(kinds: readonly PortBinding<OperationKind>[]): DynamicModule {
    return {
      module: OperationsWorkerModule,
      imports: [OperationsModule, ...kinds.map((kind) => kind.module)],
      providers: [
        OperationProcessor,
        OperationRelay,
        {
          provide: OperationKinds,
          inject: kinds.map((kind) => kind.use),
          useFactory: (...instances: OperationKind[]) => new OperationKinds(instances),
        },
      ],
    };
  }
}
