import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Inject } from '@nestjs/common';
import type { HttpRequest as Request, HttpResponse as Response } from './http.types';
import type { Logger } from 'pino';
import { issueCodeForStatus, isOperationOutcome, operationOutcome } from './operation-outcome';
import { LOGGER } from './logger';

/**
 * The one error contract: every error becomes an OperationOutcome body with the HTTP status kept;
 * anything that is not an HttpException is a 500 without detail, and no stack ever leaves the process.
 * 401 bodies carry no detail at all (cds-fhir.md §1.7).
 */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    if (res.headersSent) return;
    let status = HttpStatus.INTERNAL_SERVER_ERROR;
    let body: unknown;
    if (exception instanceof HttpException) {
      status = exception.getStatus();
      const payload = exception.getResponse();
      if (status === HttpStatus.UNAUTHORIZED) {
        body = operationOutcome('login');
      } else if (isOperationOutcome(payload)) {
        body = payload;
      } else {
        body = operationOutcome(issueCodeForStatus(status), messagesOf(payload, exception.message));
      }
      if (status >= 500) this.logger.error({ method: req.method, path: req.path, status, err: exception.message }, 'request failed');
    } else {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      // The stack stays in the log (it holds code paths, not patient data); the caller gets no detail.
      this.logger.error({ method: req.method, path: req.path, status, err: { type: err.name, message: err.message, stack: err.stack } }, 'unexpected error');
      body = operationOutcome('exception', ['Internal server error']);
    }
    res.status(status).json(body);
  }
}

function messagesOf(payload: string | object, fallback: string): string[] {
  if (typeof payload === 'string') return [payload];
  const message = (payload as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String);
  if (typeof message === 'string') return [message];
  return [fallback];
}
