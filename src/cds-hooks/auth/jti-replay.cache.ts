/**
 * Remembers each (iss, jti) until its token expires (plus skew), so a token can be used once.
 * Bounded: expired entries are pruned as new ones arrive.
 */
export class JtiReplayCache {
  private readonly seen = new Map<string, number>();
  private insertsSincePrune = 0;

  constructor(private readonly maxEntries = 200_000, private readonly now: () => number = Date.now) {}

  /** Records the jti; false when it was already seen and has not expired (a replay) or the cache is full. */
  checkAndRemember(iss: string, jti: string, expiresAtMs: number): boolean {
    const key = `${iss}\u0000${jti}`;
    const now = this.now();
    const known = this.seen.get(key);
    if (known !== undefined && known > now) return false;
    if (++this.insertsSincePrune >= 1000 || this.seen.size >= this.maxEntries) this.prune(now);
    if (this.seen.size >= this.maxEntries) return false;
    this.seen.set(key, expiresAtMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(now: number): void {
    this.insertsSincePrune = 0;
    for (const [key, exp] of this.seen) if (exp <= now) this.seen.delete(key);
  }
}
