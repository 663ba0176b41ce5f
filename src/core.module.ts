import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './platform/auth/auth.module';
import { DataCipher } from './platform/crypto/data-cipher';
import { loggerParams } from './platform/logging/logging';
import { AppConfig } from './platform/config/app-config';
import { AppConfigModule } from './platform/config/config.module';
import { DatabaseModule } from './platform/database/database.module';
import { DeadLetterModule } from './dead-letters/dead-letter.module';
import { IdempotencyModule } from './inbound/store/event-store.module';
import { MetricsModule } from './platform/metrics/metrics.module';
import { QueueModule } from './platform/queue/queue.module';

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
