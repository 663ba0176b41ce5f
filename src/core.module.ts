import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { DataCipher } from './common/data-cipher';
import { loggerParams } from './common/logging';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DeadLetterModule } from './dead-letter/dead-letter.module';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';

/** What every Switchboard process needs: configuration, logs, Postgres, Redis queues, and the shared stores. */
@Global()
@Module({
  imports: [
    AppConfigModule,
    LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: loggerParams }),
    DatabaseModule,
    QueueModule,
    IdempotencyModule,
    AuditModule,
    AuthModule,
    DeadLetterModule,
    MetricsModule,
  ],
  providers: [
    {
      provide: DataCipher,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new DataCipher(config.encryptionKey),
    },
  ],
  exports: [DataCipher],
})
export class CoreModule {}
