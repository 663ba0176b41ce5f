import { Global, Module } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeyRepository } from './api-key.repository';

/** API keys with roles. A controller protects a route with `@Roles(...)` and reads the caller with `@CurrentActor()`. */
@Global()
@Module({
  providers: [ApiKeyRepository, ApiKeyGuard],
  exports: [ApiKeyRepository, ApiKeyGuard],
})
export class AuthModule {}
