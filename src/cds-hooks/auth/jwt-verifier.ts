import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, JWTVerifyGetKey } from 'jose';
import { JtiReplayCache } from './jti-replay.cache';
import { TrustedClient } from './trusted-clients';

/** The check a token failed, logged so an integrator can tell an `aud` mismatch from an expired token. */
export type JwtCheck = 'format' | 'alg' | 'typ' | 'iss' | 'jku' | 'signature' | 'aud' | 'exp' | 'nbf' | 'iat' | 'lifetime' | 'jti' | 'replay' | 'replay-quota' | 'claims' | 'keys' | 'verifier';

/** Why a token was refused; logged (check, reason, iss/jti, never the token), never sent to the caller. */
export class JwtRejected extends Error {
  constructor(readonly check: JwtCheck, readonly reason: string, readonly iss?: string, readonly jti?: string) {
    super(reason);
    this.name = 'JwtRejected';
  }
}

export interface VerifiedCaller {
  iss: string;
  jti: string;
  /** The trusted client the token came from (its FHIR server allow-list). */
  client: TrustedClient;
}

export interface JwtVerifierOptions {
  clockSkewSeconds: number;
  /** Longest exp - iat accepted, seconds. */
  maxLifetimeSeconds?: number;
  replay?: JtiReplayCache;
}

/** jose error codes → the check that failed. */
const JOSE_CHECK: Record<string, JwtCheck> = {
  ERR_JWT_EXPIRED: 'exp',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature',
  ERR_JWKS_NO_MATCHING_KEY: 'keys',
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'keys',
  ERR_JWKS_TIMEOUT: 'keys',
  ERR_JWKS_INVALID: 'keys',
  ERR_JOSE_ALG_NOT_ALLOWED: 'alg',
  ERR_JWS_INVALID: 'format',
  ERR_JWT_INVALID: 'format',
};
const CLAIM_CHECK: Record<string, JwtCheck> = { aud: 'aud', iss: 'iss', nbf: 'nbf', iat: 'iat', exp: 'exp', jti: 'jti' };

/**
 * Verifies CDS Hooks client JWTs (cds-fhir.md §1.7): issuer allowlisted, algorithm allowed for that
 * issuer (never none or HMAC), signature against the client's keys (inline JWKS, or its allowlisted
 * JWKS URL, fetched and cached by jose), aud equal to the URL called, exp/iat/nbf within the skew,
 * and each jti used once.
 */
export class JwtVerifier {
  private readonly clients: Map<string, TrustedClient>;
  private readonly keySets = new Map<string, JWTVerifyGetKey>();
  private readonly replay: JtiReplayCache;

  private readonly clockSkewSeconds: number;
  private readonly maxLifetimeSeconds: number;

  constructor(clients: TrustedClient[], opts: JwtVerifierOptions) {
    this.clients = new Map(clients.map((c) => [c.iss, c]));
    this.clockSkewSeconds = opts.clockSkewSeconds;
    this.maxLifetimeSeconds = opts.maxLifetimeSeconds ?? 600;
    this.replay = opts.replay ?? new JtiReplayCache();
  }

  /** Unexpired token ids remembered against replay, all issuers (bounded per issuer; reported by the soak bench). */
  get rememberedTokenIds(): number {
    return this.replay.size;
  }

  /** `expectedAudience`: the URL(s) the client may have called (one per configured public URL). */
  async verify(token: string, expectedAudience: string | string[]): Promise<VerifiedCaller> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new JwtRejected('format', 'malformed token');
    }
    const iss = typeof unverified.iss === 'string' ? unverified.iss : undefined;
    const jtiClaim = typeof unverified.jti === 'string' ? unverified.jti : undefined;
    const alg = typeof header.alg === 'string' ? header.alg : '';
    if (alg === '' || alg.toLowerCase() === 'none' || /^HS/i.test(alg)) throw new JwtRejected('alg', `algorithm ${alg || '(none)'} refused`, iss, jtiClaim);
    if (header.typ !== undefined && String(header.typ).toUpperCase() !== 'JWT') throw new JwtRejected('typ', 'typ is not JWT', iss, jtiClaim);
    const client = iss === undefined ? undefined : this.clients.get(iss);
    if (client === undefined) throw new JwtRejected('iss', 'issuer not trusted', iss, jtiClaim);
    if (!client.algorithms.includes(alg)) throw new JwtRejected('alg', `algorithm ${alg} not allowed for this issuer`, iss, jtiClaim);
    if (client.jwks === undefined && header.jku !== undefined && header.jku !== client.jwksUrl) {
      throw new JwtRejected('jku', 'jku is not the allowlisted JWKS URL', iss, jtiClaim);
    }

    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, this.keySetOf(client), {
        issuer: client.iss,
        audience: expectedAudience,
        algorithms: client.algorithms,
        clockTolerance: this.clockSkewSeconds,
        requiredClaims: ['exp', 'iat', 'jti'],
      }));
    } catch (e) {
      const err = e as { code?: string; claim?: string; name?: string };
      const check = (err.claim !== undefined ? CLAIM_CHECK[err.claim] : undefined) ?? JOSE_CHECK[err.code ?? ''] ?? 'claims';
      throw new JwtRejected(check, `verification failed: ${err.code ?? err.name}${err.claim ? ` (${err.claim})` : ''}`, iss, jtiClaim);
    }
    const nowS = Date.now() / 1000;
    if (typeof payload.iat !== 'number' || payload.iat > nowS + this.clockSkewSeconds) throw new JwtRejected('iat', 'iat is in the future', iss, jtiClaim);
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) throw new JwtRejected('jti', 'jti missing or longer than 256 characters', iss);
    const exp = payload.exp as number;
    // Also bounds how long the replay cache must remember the jti.
    if (exp - payload.iat > this.maxLifetimeSeconds) throw new JwtRejected('lifetime', `exp - iat exceeds ${this.maxLifetimeSeconds} s`, iss, jti);
    const seen = this.replay.check(client.iss, jti, (exp + this.clockSkewSeconds) * 1000);
    if (seen === 'replayed') throw new JwtRejected('replay', 'jti replayed', iss, jti);
    if (seen === 'full') throw new JwtRejected('replay-quota', 'replay cache quota of this issuer is full', iss, jti);
    return { iss: client.iss, jti, client };
  }

  private keySetOf(client: TrustedClient): JWTVerifyGetKey {
    let set = this.keySets.get(client.iss);
    if (set === undefined) {
      set = client.jwks !== undefined
        ? createLocalJWKSet(client.jwks)
        : createRemoteJWKSet(new URL(client.jwksUrl as string), { timeoutDuration: 3000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
      this.keySets.set(client.iss, set);
    }
    return set;
  }
}
