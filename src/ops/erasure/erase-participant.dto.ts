import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, Matches, MaxLength } from 'class-validator';
import { Provider, PROVIDERS } from '../../providers/channel-provider';

export class EraseParticipantDto {
  @ApiProperty({ enum: PROVIDERS, example: 'instagram' })
  @IsIn(PROVIDERS)
  provider!: Provider;

  /** The patient's id as Meta sends it (Instagram-scoped id, page-scoped id, or WhatsApp number). */
  @ApiProperty({ example: '1234567890123456' })
  @IsString()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9_.+:-]+$/, { message: 'participantId must be a Meta id' })
  participantId!: string;
}
