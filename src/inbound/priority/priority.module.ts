import { Module } from '@nestjs/common';
import { VipSenders } from './vip-senders';

/** VIP senders: whose events jump the queue (VIP_SENDER_IDS and the vip_senders table). */
@Module({
  providers: [VipSenders],
  exports: [VipSenders],
})
export class PriorityModule {}
