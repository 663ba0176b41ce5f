import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorBody } from '../http/error-body.filter';

/** What can go wrong with an operator's request about an operation; OperationErrorFilter turns it into HTTP. */
export class OperationError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'OperationError';
  }
}

const STATUS: Record<OperationError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
};

/** Maps OperationError to the shared error body (404, 409). */
@Catch(OperationError)
export class OperationErrorFilter implements ExceptionFilter {
  catch(error: OperationError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    void sendErrorBody(http.getResponse<FastifyReply>(), STATUS[error.kind], error.message, String(request.id));
  }
}
