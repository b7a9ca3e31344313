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
    } else if (clientErrorStatus(exception) !== undefined) {
      // The body reader's errors (http-errors): oversized, unsupported charset or encoding, a lying Content-Encoding.
      status = clientErrorStatus(exception) as number;
      body = operationOutcome(issueCodeForStatus(status), [bodyErrorMessage(exception as BodyParserError, req.headers['content-encoding'])]);
    } else {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      // The stack stays in the log (it holds code paths, not patient data); the caller gets no detail.
      this.logger.error({ method: req.method, path: req.path, status, err: { type: err.name, message: err.message, stack: err.stack } }, 'unexpected error');
      body = operationOutcome('exception', ['Internal server error']);
    }
    res.status(status).json(body);
  }
}

interface BodyParserError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  limit?: number;
  encoding?: string;
  charset?: string;
}

/** The 4xx status a non-Nest error carries (http-errors sets `status` and `expose`), if any. */
function clientErrorStatus(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const status = (e as BodyParserError).status ?? (e as BodyParserError).statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function bodyErrorMessage(e: BodyParserError, contentEncoding: string | undefined): string {
  switch (e.type) {
    case 'entity.too.large':
      return `request body: larger than CDS_BODY_LIMIT (${e.limit} bytes, after decompression)`;
    case 'encoding.unsupported':
      return `Content-Encoding: ${e.encoding ?? 'this encoding'} is not supported (gzip, deflate, br or none)`;
    case 'charset.unsupported':
      return `Content-Type: charset ${e.charset ?? ''} is not supported (JSON is UTF-8)`;
    case 'request.aborted':
      return 'request body: the client aborted the upload';
    case 'request.size.invalid':
      return 'request body: fewer or more bytes than Content-Length';
    default:
      // zlib errors: the body is not what Content-Encoding says.
      if (contentEncoding !== undefined && !/^identity$/i.test(contentEncoding)) return `request body: cannot be decoded as its Content-Encoding (${contentEncoding})`;
      return `request body: ${String(e.message ?? 'unreadable').split('\n')[0].slice(0, 200)}`;
  }
}

function messagesOf(payload: string | object, fallback: string): string[] {
  if (typeof payload === 'string') return [payload];
  const message = (payload as { message?: unknown }).message;
  if (Array.isArray(message)) return message.map(String);
  if (typeof message === 'string') return [message];
  return [fallback];
}
