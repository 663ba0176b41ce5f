import { Module } from '@nestjs/common';
import { DeadLettersController } from '../../dead-letters/dead-letters.controller';
import { QueuesController } from './queues.controller';
import { VipSenderRepository } from '../../inbound/priority/vip-sender.repository';
import { VipSendersController } from './vip-senders.controller';

/** Ops surfaces of the API process: dead letters, queues and jobs, VIP senders. */
@Module({
  controllers: [DeadLettersController, QueuesController, VipSendersController],
  providers: [VipSenderRepository],
})
export class AdminModule {}
