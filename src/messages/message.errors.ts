import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorBody } from '../platform/http/error-body.filter';

/** What can go wrong with a message of POST /messages; MessageErrorFilter turns it into HTTP. */
export class MessageError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'window_closed',
    message: string,
  ) {
    super(message);
    this.name = 'MessageError';
  }
}

/** 400, 404, and 409 `{"error":"window_closed"}` (with the shared body's message and correlation id). */
@Catch(MessageError)
export class MessageErrorFilter implements ExceptionFilter {
  catch(error: MessageError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const correlationId = String(request.id);
    if (error.kind === 'window_closed') {
      void reply
        .status(HttpStatus.CONFLICT)
        .header('content-type', 'application/json; charset=utf-8')
        .send({ statusCode: 409, error: 'window_closed', message: error.message, correlationId });
      return;
    }
    const status = error.kind === 'not_found' ? HttpStatus.NOT_FOUND : HttpStatus.BAD_REQUEST;
    void sendErrorBody(reply, status, error.message, correlationId);
  }
}
