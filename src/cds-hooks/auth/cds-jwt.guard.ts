import { CanActivate, ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest as Request } from '../../common/http.types';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../../config/config.module';
import type { AppConfig } from '../../config/app-config';
import { LOGGER } from '../../common/logger';
import { IS_PUBLIC } from './public.decorator';
import { publicBaseOf } from '../public-base-url';
import { JwtRejected, JwtVerifier } from './jwt-verifier';

export const JWT_VERIFIER = Symbol('JWT_VERIFIER');

/**
 * The JWT check on every CDS Hooks route (discovery, service calls, feedback). The expected `aud` is
 * the URL called: CDS_PUBLIC_URL + path when configured (behind a proxy), otherwise the request's own
 * protocol://host + path. Failures answer 401 with no detail.
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
    const req = context.switchToHttp().getRequest<Request>();
    const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (!match || this.verifier === null) {
      this.logger.warn({ path: req.path, reason: 'no bearer token' }, 'jwt rejected');
      throw new UnauthorizedException();
    }
    try {
      const caller = await this.verifier.verify(match[1], expectedAudience(req, this.config.publicUrl));
      req.res!.locals.logFields = { ...(req.res!.locals.logFields ?? {}), iss: caller.iss, jti: caller.jti };
      return true;
    } catch (e) {
      const r = e instanceof JwtRejected ? e : new JwtRejected('unexpected verifier error');
      this.logger.warn({ path: req.path, reason: r.reason, iss: r.iss, jti: r.jti }, 'jwt rejected');
      throw new UnauthorizedException();
    }
  }
}

/** The exact URL the client called (without query), as CDS Hooks clients put it in `aud`. */
export function expectedAudience(req: Request, publicUrl: string | undefined): string {
  const pathOnly = req.originalUrl.split('?')[0];
  return `${publicBaseOf(req, publicUrl)}${pathOnly}`;
}
