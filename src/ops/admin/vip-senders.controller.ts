import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Actor } from '../../platform/auth/api-key';
import { CurrentActor, Roles } from '../../platform/auth/roles.decorator';
import { VipSenderBody, VipSenderDto, VipSenderParams, VipSendersDto } from './vip-sender.dto';
import { VipSenderService } from '../../inbound/priority/vip-sender.service';

@ApiTags('vip senders')
@Roles('ops')
@Controller('admin/vip-senders')
export class VipSendersController {
  constructor(private readonly vipSenders: VipSenderService) {}

  @Get()
  @ApiOperation({ summary: 'Senders whose events are processed before everyone else’s' })
  @ApiOkResponse({ type: VipSendersDto })
  async list(): Promise<VipSendersDto> {
    return { items: await this.vipSenders.list(), fromConfig: this.vipSenders.fromConfig() };
  }

  @Post()
  @ApiOperation({ summary: 'Make a sender a VIP (every process picks it up within 30 s); audited' })
  @ApiOkResponse({ type: VipSenderDto })
  @HttpCode(200)
  add(@Body() body: VipSenderBody, @CurrentActor() actor: Actor): Promise<VipSenderDto> {
    return this.vipSenders.add(body.provider, body.senderId, body.note ?? null, actor.name);
  }

  @Delete(':provider/:senderId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a VIP sender; audited' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse()
  async remove(@Param() params: VipSenderParams, @CurrentActor() actor: Actor): Promise<void> {
    if (!(await this.vipSenders.remove(params.provider, params.senderId, actor.name))) {
      throw new NotFoundException('no such VIP sender');
    }
  }
}
