import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PROVIDERS } from '../../providers/channel-provider';

export class VipSenderBody {
  @ApiProperty({ enum: PROVIDERS, example: 'instagram' })
  @IsIn(PROVIDERS)
  provider!: string;

  @ApiProperty({ description: 'the sender id as the provider sends it (an Instagram-scoped id)', example: '1784…' })
  @Matches(/^[A-Za-z0-9_.:-]{1,100}$/, { message: 'senderId may hold letters, digits and _ . : - only' })
  senderId!: string;

  @ApiPropertyOptional({ description: 'why this sender is a VIP (no patient data)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  note?: string;
}

export class VipSenderParams {
  @ApiProperty({ enum: PROVIDERS })
  @IsIn(PROVIDERS)
  provider!: string;

  @ApiProperty()
  @Matches(/^[A-Za-z0-9_.:-]{1,100}$/, { message: 'senderId may hold letters, digits and _ . : - only' })
  senderId!: string;
}

export class VipSenderDto {
  @ApiProperty() provider!: string;
  @ApiProperty() senderId!: string;
  @ApiProperty({ nullable: true, type: String }) note!: string | null;
  @ApiProperty() createdAt!: Date;
}

export class VipSendersDto {
  @ApiProperty({ type: [VipSenderDto], description: 'the vip_senders table' }) items!: VipSenderDto[];
  @ApiProperty({ type: [String], description: 'VIP_SENDER_IDS (any provider; change it in the environment)' })
  fromConfig!: string[];
}
