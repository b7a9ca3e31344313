/**
 * Remembers each (iss, jti) until its token expires (plus skew), so a token can be used once.
 *
 * Bounded and O(1) per check (amortised): per issuer (issuers come from the trusted clients file, so
 * their number is fixed) a Map jti → expiry and a FIFO of the same entries in arrival order. Tokens
 * have a bounded lifetime (CDS_JWT_MAX_LIFETIME_S), so entries expire roughly in arrival order; each
 * check drops expired entries from the head of the FIFO. When an issuer holds `perIssuer` unexpired
 * entries, *its* new tokens are refused until some expire: fail closed for that client only. A
 * replay never slips through because an entry was evicted, and one busy or hostile client cannot
 * lock out the others.
 */
class IssuerWindow {
  readonly expiry = new Map<string, number>();
  private queue: { jti: string; exp: number }[] = [];
  private head = 0;

  /** Drops entries from the head while they are expired; stops at the first live one. */
  pruneHead(now: number): void {
    while (this.head < this.queue.length && this.queue[this.head].exp <= now) this.drop(this.queue[this.head++]);
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Drops every expired entry (entries with a long lifetime can hide short ones behind them). */
  pruneAll(now: number): void {
    const live = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i];
      if (e.exp <= now) this.drop(e);
      else live.push(e);
    }
    this.queue = live;
    this.head = 0;
  }

  add(jti: string, exp: number): void {
    this.expiry.set(jti, exp);
    this.queue.push({ jti, exp });
  }

  private drop(e: { jti: string; exp: number }): void {
    if (this.expiry.get(e.jti) === e.exp) this.expiry.delete(e.jti);
  }
}

export class JtiReplayCache {
  private readonly byIssuer = new Map<string, IssuerWindow>();
  private readonly lastFullPrune = new Map<string, number>();

  constructor(private readonly perIssuer = 100_000, private readonly now: () => number = Date.now) {}

  /** Records the jti. 'replayed' when seen and not expired; 'full' when the issuer's quota is used up. */
  check(iss: string, jti: string, expiresAtMs: number): 'ok' | 'replayed' | 'full' {
    const now = this.now();
    let w = this.byIssuer.get(iss);
    if (w === undefined) {
      w = new IssuerWindow();
      this.byIssuer.set(iss, w);
    }
    w.pruneHead(now);
    const known = w.expiry.get(jti);
    if (known !== undefined && known > now) return 'replayed';
    if (w.expiry.size >= this.perIssuer) {
      // At most once a second: a full scan for expired entries hidden behind a long-lived head.
      if ((this.lastFullPrune.get(iss) ?? -Infinity) <= now - 1000) {
        this.lastFullPrune.set(iss, now);
        w.pruneAll(now);
      }
      if (w.expiry.size >= this.perIssuer) return 'full';
    }
    w.add(jti, expiresAtMs);
    return 'ok';
  }

  /** Records the jti; false when it is a replay or the issuer's quota is full. */
  checkAndRemember(iss: string, jti: string, expiresAtMs: number): boolean {
    return this.check(iss, jti, expiresAtMs) === 'ok';
  }

  /** Unexpired entries remembered, all issuers. */
  get size(): number {
    let n = 0;
    for (const w of this.byIssuer.values()) n += w.expiry.size;
    return n;
  }
}
