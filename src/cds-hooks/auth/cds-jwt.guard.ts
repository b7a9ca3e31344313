import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest as Request } from '../../common/http.types';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../../config/config.module';
import type { AppConfig } from '../../config/app-config';
import { LOGGER } from '../../common/logger';
import { IS_PUBLIC } from './public.decorator';
import { JwtRejected, JwtVerifier, VerifiedCaller } from './jwt-verifier';

export const JWT_VERIFIER = Symbol('JWT_VERIFIER');

/** The outcome of a request's one JWT check, kept so the pre-body check and the guard agree and a jti is spent once. */
const checked = new WeakMap<Request, Promise<VerifiedCaller | null>>();

/**
 * The JWT check on every CDS Hooks route (discovery, service calls, feedback). The expected `aud` is
 * one of the configured public URLs (CDS_PUBLIC_URL) + the path called; the Host header plays no
 * part. The check runs before the body is read (`authenticate` from a middleware) and again, from
 * the same cached result, as the route guard. Failures answer 401 with no detail; the log names the
 * check that failed (never the token).
 */
@Injectable()
export class CdsJwtGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(JWT_VERIFIER) private readonly verifier: JwtVerifier | null,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    if (this.config.authDisabled) return true;
    const caller = await this.authenticate(context.switchToHttp().getRequest<Request>());
    if (caller === null) throw new UnauthorizedException();
    return true;
  }

  /** The verified caller of a request, or null (already logged) when its token is refused. Runs once per request. */
  authenticate(req: Request): Promise<VerifiedCaller | null> {
    let result = checked.get(req);
    if (result === undefined) {
      result = this.verifyOnce(req);
      checked.set(req, result);
    }
    return result;
  }

  private async verifyOnce(req: Request): Promise<VerifiedCaller | null> {
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match || this.verifier === null) {
      this.logger.warn({ path: req.path, check: 'bearer', reason: 'no bearer token' }, 'jwt rejected');
      return null;
    }
    try {
      const caller = await this.verifier.verify(match[1], expectedAudiences(req, this.config.publicUrls));
      if (req.res) req.res.locals.logFields = { ...((req.res.locals.logFields as object) ?? {}), iss: caller.iss, jti: caller.jti };
      callers.set(req, caller);
      return caller;
    } catch (e) {
      const r = e instanceof JwtRejected ? e : new JwtRejected('verifier', 'unexpected verifier error');
      this.logger.warn({ path: req.path, check: r.check, reason: r.reason, iss: r.iss, jti: r.jti }, 'jwt rejected');
      return null;
    }
  }
}

const callers = new WeakMap<Request, VerifiedCaller>();

/** The verified caller of a request that passed the guard (undefined with auth disabled). */
export function verifiedCallerOf(req: Request): VerifiedCaller | undefined {
  return callers.get(req);
}

/** The URLs a client may have put in `aud`: each configured public base + the path called (without query). */
export function expectedAudiences(req: Request, publicUrls: readonly string[]): string[] {
  const pathOnly = req.originalUrl.split('?')[0];
  return publicUrls.map((base) => `${base}${pathOnly}`);
}
