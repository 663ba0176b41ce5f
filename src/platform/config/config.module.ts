import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { AppConfig } from './app-config';
import { validateEnvironment } from './environment';

/** Loads `.env` (when present) into the environment, validates it at boot and provides the typed AppConfig. */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, cache: true, validate: validateEnvironment, envFilePath: ['.env'] }),
  ],
  providers: [{ provide: AppConfig, useFactory: () => AppConfig.fromEnvironment(process.env) }],
  exports: [AppConfig],
})
export class AppConfigModule {}
