import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import { EraseParticipantDto } from './erase-participant.dto';
import { ErasureReport, ErasureService } from './erasure.service';

@ApiTags('admin')
@Controller('admin/erasure')
export class ErasureController {
  constructor(private readonly erasure: ErasureService) {}

  @Post()
  @HttpCode(200)
  @Roles('ops')
  @ApiOperation({
    summary: "Erase a patient's data: message content, raw bodies, payloads; their id becomes a one-way hash",
  })
  @ApiOkResponse({
    schema: {
      example: {
        provider: 'instagram',
        fingerprint: 'Zk3x…',
        counts: {
          conversations: 1,
          messageContent: 12,
          receiptBodies: 14,
          eventPayloads: 14,
          events: 15,
          replies: 6,
          vipSenders: 0,
        },
      },
    },
  })
  erase(@Body() body: EraseParticipantDto, @CurrentActor() actor: Actor): Promise<ErasureReport> {
    return this.erasure.erase(body.provider, body.participantId, actor);
  }
}
