import { Injectable } from '@nestjs/common';
import { DataCipher } from '../../platform/crypto/data-cipher';
import { VipSender, VipSenderRepository } from './vip-sender.repository';
import { VipSenders } from './vip-senders';

/** The VIP list as ops manage it; every change is audited (with the sender's fingerprint, never the id). */
@Injectable()
export class VipSenderService {
  constructor(
    private readonly repository: VipSenderRepository,
    private readonly vipSenders: VipSenders,
    private readonly cipher: DataCipher,
  ) {}

  list(): Promise<VipSender[]> {
    return this.repository.list();
  }

  /** Those in VIP_SENDER_IDS (any provider). */
  fromConfig(): string[] {
    return this.vipSenders.configuredIds();
  }

  /** This process sees the change at once; the others within 30 s. */
  async add(provider: string, senderId: string, note: string | null, actor: string): Promise<VipSender> {
    const added = await this.repository.add(provider, senderId, note, actor, this.cipher.fingerprint(senderId));
    await this.vipSenders.refresh();
    return added;
  }

  /** False when there was no such VIP sender. */
  async remove(provider: string, senderId: string, actor: string): Promise<boolean> {
    const removed = await this.repository.remove(provider, senderId, actor, this.cipher.fingerprint(senderId));
    if (removed) await this.vipSenders.refresh();
    return removed;
  }
}
