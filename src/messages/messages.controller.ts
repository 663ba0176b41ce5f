import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Req, UseFilters } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { FastifyRequest } from 'fastify';
import { Actor } from '../platform/auth/api-key';
import { CurrentActor, Roles } from '../platform/auth/roles.decorator';
import { MessageError, MessageErrorFilter } from './message.errors';
import { MessageDto, SendMessageBody, SentMessageDto } from './message.dto';
import { MessagesService } from './messages.service';
import { OutgoingMessage } from './outgoing-message.repository';

@ApiTags('messages')
@Roles('publisher', 'ops')
@UseFilters(MessageErrorFilter)
@Controller('messages')
export class MessagesController {
  constructor(private readonly messages: MessagesService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary:
      "Send a message into a patient's conversation (within 24 h of their last message; up to 7 days with tag HUMAN_AGENT). Starts a staff handoff.",
  })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'a repeated request returns the first message' })
  @ApiAcceptedResponse({ type: SentMessageDto })
  @ApiBadRequestResponse({ description: 'invalid body, or an account without a token' })
  @ApiConflictResponse({ description: '{"error":"window_closed"}: outside the messaging window' })
  async send(
    @Body() body: SendMessageBody,
    @CurrentActor() actor: Actor,
    @Req() request: FastifyRequest,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<SentMessageDto> {
    if (idempotencyKey !== undefined && (idempotencyKey.length === 0 || idempotencyKey.length > 255)) {
      throw new MessageError('invalid', 'Idempotency-Key must be 1 to 255 characters');
    }
    const message = await this.messages.send({
      ...body,
      idempotencyKey: idempotencyKey ?? null,
      actor: actor.name,
      correlationId: String(request.id),
    });
    return { messageId: message.messageId, status: message.status };
  }

  @Get(':id')
  @ApiOperation({ summary: "A message's state (never its text)" })
  @ApiOkResponse({ type: MessageDto })
  @ApiNotFoundResponse()
  async get(
    @Param('id', new ParseUUIDPipe({ exceptionFactory: () => new MessageError('not_found', 'no such message') }))
    id: string,
  ): Promise<MessageDto> {
    return view(await this.messages.get(id));
  }
}

function view(message: OutgoingMessage): MessageDto {
  const { tag: _tag, attempts: _attempts, ...shown } = message;
  return shown;
}
