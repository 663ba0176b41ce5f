import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorBody } from '../platform/http/error-body.filter';

/** What can go wrong with an operator's request about dead letters; the controller's filter turns it into HTTP. */
export class DeadLetterError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict' | 'queue_unavailable' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'DeadLetterError';
  }
}

const STATUS: Record<DeadLetterError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  queue_unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  invalid: HttpStatus.BAD_REQUEST,
};

/** Maps DeadLetterError to the shared error body (404, 409, 503, 400). */
@Catch(DeadLetterError)
export class DeadLetterErrorFilter implements ExceptionFilter {
  catch(error: DeadLetterError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    void sendErrorBody(http.getResponse<FastifyReply>(), STATUS[error.kind], error.message, String(request.id));
  }
}
