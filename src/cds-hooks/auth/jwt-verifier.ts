import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, JWTVerifyGetKey } from 'jose';
import { JtiReplayCache } from './jti-replay.cache';
import { TrustedClient } from './trusted-clients';

/** Why a token was refused; logged (with iss/jti, never the token), never sent to the caller. */
export class JwtRejected extends Error {
  constructor(readonly reason: string, readonly iss?: string, readonly jti?: string) {
    super(reason);
    this.name = 'JwtRejected';
  }
}

export interface VerifiedCaller {
  iss: string;
  jti: string;
}

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

  constructor(clients: TrustedClient[], private readonly clockSkewSeconds: number, replay?: JtiReplayCache) {
    this.clients = new Map(clients.map((c) => [c.iss, c]));
    this.replay = replay ?? new JtiReplayCache();
  }

  async verify(token: string, expectedAudience: string): Promise<VerifiedCaller> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: ReturnType<typeof decodeJwt>;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new JwtRejected('malformed token');
    }
    const iss = typeof unverified.iss === 'string' ? unverified.iss : undefined;
    const jtiClaim = typeof unverified.jti === 'string' ? unverified.jti : undefined;
    const alg = typeof header.alg === 'string' ? header.alg : '';
    if (alg === '' || alg.toLowerCase() === 'none' || /^HS/i.test(alg)) throw new JwtRejected(`algorithm ${alg || '(none)'} refused`, iss, jtiClaim);
    if (header.typ !== undefined && String(header.typ).toUpperCase() !== 'JWT') throw new JwtRejected('typ is not JWT', iss, jtiClaim);
    const client = iss === undefined ? undefined : this.clients.get(iss);
    if (client === undefined) throw new JwtRejected('issuer not trusted', iss, jtiClaim);
    if (!client.algorithms.includes(alg)) throw new JwtRejected(`algorithm ${alg} not allowed for this issuer`, iss, jtiClaim);
    if (client.jwks === undefined && header.jku !== undefined && header.jku !== client.jwksUrl) {
      throw new JwtRejected('jku is not the allowlisted JWKS URL', iss, jtiClaim);
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
      throw new JwtRejected(`verification failed: ${(e as { code?: string }).code ?? (e as Error).name}`, iss, jtiClaim);
    }
    const nowS = Date.now() / 1000;
    if (typeof payload.iat !== 'number' || payload.iat > nowS + this.clockSkewSeconds) throw new JwtRejected('iat is in the future', iss, jtiClaim);
    const jti = payload.jti;
    if (typeof jti !== 'string' || jti === '') throw new JwtRejected('jti missing', iss);
    const exp = payload.exp as number;
    if (!this.replay.checkAndRemember(client.iss, jti, (exp + this.clockSkewSeconds) * 1000)) throw new JwtRejected('jti replayed', iss, jti);
    return { iss: client.iss, jti };
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
