import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, NextFunction } from './http.types';

/**
 * One log line per request: method, path, status, duration. Paths hold service ids only, never
 * patient data; bodies and headers are not logged. Handlers add safe fields via res.locals.logFields.
 */
export function requestLogMiddleware(logger: Logger): (req: HttpRequest, res: HttpResponse, next: NextFunction) => void {
  return (req, res, next) => {
    if (!logger.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const extra = (res.locals.logFields ?? {}) as Record<string, unknown>;
      logger.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 100) / 100, ...extra }, 'request');
    });
    next();
  };
}
