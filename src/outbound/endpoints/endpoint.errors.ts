import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorBody } from '../../platform/http/error-body.filter';

/** What can go wrong with an operator's request about endpoints; the controller's filter turns it into HTTP. */
export class EndpointError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'EndpointError';
  }
}

const STATUS: Record<EndpointError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
};

/** Maps EndpointError to the shared error body (404, 409). */
@Catch(EndpointError)
export class EndpointErrorFilter implements ExceptionFilter {
  catch(error: EndpointError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    void sendErrorBody(http.getResponse<FastifyReply>(), STATUS[error.kind], error.message, String(request.id));
  }
}
