import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, NextFunction } from './http.types';

/**
 * One log line per request: method, path, status, duration and the process CPU time it spanned
 * (steadier than wall time on a busy machine; calls overlap under load, so it is per process, not per
 * call). Paths hold service ids only, never patient data (a path that is not a plain route — a caller
 * can put anything there — is logged as `(other path)`); bodies and headers are not logged. Handlers
 * add safe fields via res.locals.logFields.
 */
export function requestLogMiddleware(logger: Logger): (req: HttpRequest, res: HttpResponse, next: NextFunction) => void {
  return (req, res, next) => {
    if (!logger.isLevelEnabled('info')) return next();
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const cpu = process.cpuUsage(cpuStarted);
      const extra = (res.locals.logFields ?? {}) as Record<string, unknown>;
      logger.info({ method: req.method, path: loggablePath(req.path), status: res.statusCode, ms: Math.round(ms * 100) / 100, cpuMs: Math.round((cpu.user + cpu.system) / 10) / 100, ...extra }, 'request');
    });
    next();
  };
}

/** The path when it looks like one of this service's routes (letters, digits, - . _ /, at most 200 characters). */
function loggablePath(path: string): string {
  return /^[A-Za-z0-9\-._/]{1,200}$/.test(path) ? path : '(other path)';
}
