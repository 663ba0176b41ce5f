import { Module } from '@nestjs/common';
import { VipSenderRepository } from './vip-sender.repository';
import { VipSenderService } from './vip-sender.service';
import { VipSenders } from './vip-senders';

/** VIP senders: whose events jump the queue (VIP_SENDER_IDS and the vip_senders table), and their management. */
@Module({
  providers: [VipSenders, VipSenderRepository, VipSenderService],
  exports: [VipSenders, VipSenderService],
})
export class PriorityModule {}
