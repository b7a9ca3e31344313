import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The few Express request/response members this service uses (the project has no @types/express;
 * these are structurally what @nestjs/platform-express hands over).
 */
export interface HttpRequest extends IncomingMessage {
  method: string;
  path: string;
  originalUrl: string;
  protocol: string;
  body: unknown;
  params: Record<string, string>;
  get(name: string): string | undefined;
  res?: HttpResponse;
}

export interface HttpResponse extends ServerResponse {
  locals: Record<string, unknown>;
  status(code: number): HttpResponse;
  json(body: unknown): HttpResponse;
  type(contentType: string): HttpResponse;
  send(body: unknown): HttpResponse;
}

export type NextFunction = (err?: unknown) => void;
