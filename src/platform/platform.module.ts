import { Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { Clock } from './clock';
import { AppConfig } from './config/app-config';
import { AppConfigModule } from './config/config.module';
import { DataCipher } from './crypto/data-cipher';
import { DatabaseModule } from './database/database.module';
import { loggerParams } from './logging/logging';
import { MetricsModule } from './metrics/metrics.module';
import { QueueModule } from './queue/queue.module';
import { RedisModule } from './redis/redis.module';

/** What every Switchboard process stands on: configuration, logs, Postgres, Redis and BullMQ, API keys, metrics, the cipher, the clock. */
@Global()
@Module({
  imports: [
    AppConfigModule,
    LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: loggerParams }),
    DatabaseModule,
    RedisModule,
    QueueModule,
    AuthModule,
    MetricsModule,
  ],
  providers: [
    Clock,
    {
      provide: DataCipher,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new DataCipher(config.keyring),
    },
  ],
  exports: [DataCipher, Clock],
})
export class PlatformModule {}
