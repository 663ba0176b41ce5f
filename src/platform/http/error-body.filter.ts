import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { DecryptionError } from '../crypto/data-cipher';

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  correlationId: string;
}

/** The shared error body; `reply` is sent with it as JSON. */
export function sendErrorBody(
  reply: FastifyReply,
  status: number,
  message: string | string[],
  correlationId: string,
): FastifyReply {
  const body: ErrorBody = { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, correlationId };
  return reply.status(status).header('content-type', 'application/json; charset=utf-8').send(body);
}

/** One JSON error shape for every 4xx and 5xx. Unexpected errors never leak their message. */
@Catch()
export class ErrorBodyFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const correlationId = String(request.id);

    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let message: string | string[] = 'internal error';
    if (exception instanceof HttpException && isHealthReport(exception.getResponse())) {
      // Terminus readiness: the contract promises the per-dependency details with the 503.
      void reply.status(exception.getStatus()).send({ ...(exception.getResponse() as object), correlationId });
      return;
    }
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const response = exception.getResponse();
      message =
        typeof response === 'string'
          ? response
          : ((response as { message?: string | string[] }).message ?? exception.message);
    } else if (exception instanceof DecryptionError) {
      // A value moved from another row is a conflict in the data, not a server fault; a missing key is.
      status = exception.failure === 'not_this_row' ? HttpStatus.CONFLICT : HttpStatus.INTERNAL_SERVER_ERROR;
      message = exception.message;
      this.logger.error({
        msg: 'stored data did not open',
        correlationId,
        failure: exception.failure,
        keyId: exception.keyId,
      });
    } else if (isFastifyError(exception)) {
      status = exception.statusCode;
      message = exception.message;
    } else {
      // The first stack line is the message, which may quote input: keep only the frames.
      const frames = ((exception as Error)?.stack ?? '').split('\n').slice(1).join('\n');
      this.logger.error({ msg: 'unhandled error', correlationId, error: (exception as Error)?.name, frames });
    }
    void sendErrorBody(reply, status, message, correlationId);
  }
}

function isHealthReport(response: unknown): boolean {
  return typeof response === 'object' && response !== null && 'status' in response && 'details' in response;
}

function isFastifyError(error: unknown): error is { statusCode: number; message: string; code: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { statusCode?: unknown }).statusCode === 'number' &&
    typeof (error as { code?: unknown }).code === 'string' &&
    String((error as { code: string }).code).startsWith('FST_')
  );
}
