import { Global, Module } from '@nestjs/common';
import { RedisConnections } from './redis-connections';

/** The one owner of the process's Redis connections. */
@Global()
@Module({
  providers: [RedisConnections],
  exports: [RedisConnections],
})
export class RedisModule {}
