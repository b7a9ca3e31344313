import { LoggerService } from '@nestjs/common';
import pino, { Logger, Level } from 'pino';

/** Injection token of the pino root logger. */
export const LOGGER = Symbol('LOGGER');

/**
 * pino JSON logs. Log only operational fields (route, status, timing, hookInstance, iss, jti, counts);
 * never patient ids, FHIR resources, tokens or request bodies. Authorization headers are redacted in
 * case a serializer ever sees a request.
 */
export function createLogger(level: Level | 'silent', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'leader-cds' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.access_token', 'access_token'], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

/** Routes Nest's own log lines into pino. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
