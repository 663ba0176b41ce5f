import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { Provider, PROVIDERS } from '../../providers/channel-provider';

export class AccessReportQuery {
  @ApiProperty({ enum: PROVIDERS, example: 'instagram' })
  @IsIn(PROVIDERS)
  provider!: Provider;

  @ApiProperty({ example: '1234567890123456', description: "the patient's id as Meta sends it" })
  @IsString()
  @MaxLength(128)
  @Matches(/^[A-Za-z0-9_.+:-]+$/, { message: 'participantId must be a Meta id' })
  participantId!: string;

  @ApiPropertyOptional({ default: 500, maximum: 5000 })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value))
  @IsInt()
  @Min(1)
  @Max(5000)
  limit?: number;
}
