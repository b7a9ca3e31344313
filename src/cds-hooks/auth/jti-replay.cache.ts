/**
 * Remembers each (iss, jti) until its token expires (plus skew), so a token can be used once.
 *
 * Bounded and O(1) per check: one insertion-ordered Map per issuer (issuers come from the trusted
 * clients file, so their number is fixed). Tokens have a bounded lifetime (CDS_JWT_MAX_LIFETIME_S),
 * so entries expire roughly in insertion order; each check drops expired entries from the head of
 * that issuer's map (amortised O(1)). When an issuer holds `perIssuer` unexpired entries, *its*
 * new tokens are refused until some expire (fail closed for that client only: a replay can never
 * slip through because an entry was evicted, and one busy or hostile client cannot lock out the others).
 */
export class JtiReplayCache {
  private readonly byIssuer = new Map<string, Map<string, number>>();

  constructor(private readonly perIssuer = 100_000, private readonly now: () => number = Date.now) {}

  /** Records the jti. 'replayed' when seen and not expired; 'full' when the issuer's quota is used up. */
  check(iss: string, jti: string, expiresAtMs: number): 'ok' | 'replayed' | 'full' {
    const now = this.now();
    let seen = this.byIssuer.get(iss);
    if (seen === undefined) {
      seen = new Map();
      this.byIssuer.set(iss, seen);
    }
    const known = seen.get(jti);
    if (known !== undefined && known > now) return 'replayed';
    if (known !== undefined) seen.delete(jti);
    // Drop expired entries from the head; stop at the first live one (a few out-of-order entries wait their turn).
    for (const [key, exp] of seen) {
      if (exp > now) break;
      seen.delete(key);
    }
    if (seen.size >= this.perIssuer) {
      this.pruneAll(seen, now);
      if (seen.size >= this.perIssuer) return 'full';
    }
    seen.set(jti, expiresAtMs);
    return 'ok';
  }

  /** Records the jti; false when it is a replay or the issuer's quota is full. */
  checkAndRemember(iss: string, jti: string, expiresAtMs: number): boolean {
    return this.check(iss, jti, expiresAtMs) === 'ok';
  }

  get size(): number {
    let n = 0;
    for (const m of this.byIssuer.values()) n += m.size;
    return n;
  }

  /** A full scan, only when an issuer hits its quota (out-of-order expiries may hide behind a live head), at most once per second. */
  private lastFullPrune = new Map<Map<string, number>, number>();
  private pruneAll(seen: Map<string, number>, now: number): void {
    if ((this.lastFullPrune.get(seen) ?? -Infinity) > now - 1000) return;
    this.lastFullPrune.set(seen, now);
    for (const [key, exp] of seen) if (exp <= now) seen.delete(key);
  }
}
