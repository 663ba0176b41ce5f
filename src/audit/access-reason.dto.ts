import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

/** Why someone opens a patient's content: required, kept in the audit entry of the access. */
export class AccessReasonQuery {
  @ApiProperty({
    description: 'why you open this content (kept in the audit log), e.g. "ticket 4411: reply never arrived"',
  })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @IsNotEmpty({ message: 'reason is required: say why you open this content' })
  @MaxLength(500)
  reason!: string;
}
