import { Global, Module } from '@nestjs/common';
import { InboundEventRepository } from './inbound-event.repository';

@Global()
@Module({
  providers: [InboundEventRepository],
  exports: [InboundEventRepository],
})
export class IdempotencyModule {}
