import { Global, Module } from '@nestjs/common';
import { Gcra } from './gcra';
import { RedisConnections } from './redis-connections';

/** The one owner of the process's Redis connections, and the one rate-limiting script on them. */
@Global()
@Module({
  providers: [RedisConnections, Gcra],
  exports: [RedisConnections, Gcra],
})
export class RedisModule {}
