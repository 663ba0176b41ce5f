import { ArgumentsHost, Catch, ExceptionFilter, HttpStatus } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { sendErrorBody } from '../platform/http/error-body.filter';

/**
 * What can go wrong with an operator's request about accounts; the controller's filter turns it into HTTP.
 * `refresh_failed`: Meta refused or did not answer a token refresh (a category, never the answer).
 */
export class AccountError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict' | 'refresh_failed',
    message: string,
  ) {
    super(message);
    this.name = 'AccountError';
  }
}

const STATUS: Record<AccountError['kind'], number> = {
  not_found: HttpStatus.NOT_FOUND,
  conflict: HttpStatus.CONFLICT,
  refresh_failed: HttpStatus.BAD_GATEWAY,
};

/** Maps AccountError to the shared error body (404, 409, 502). */
@Catch(AccountError)
export class AccountErrorFilter implements ExceptionFilter {
  catch(error: AccountError, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    void sendErrorBody(http.getResponse<FastifyReply>(), STATUS[error.kind], error.message, String(request.id));
  }
}
