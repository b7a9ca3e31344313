import { JtiReplayCache } from './jti-replay.cache';

describe(JtiReplayCache.name, () => {
  let now: number;
  const clock = () => now;
  beforeEach(() => {
    now = 1_000_000;
  });

  it('accepts a jti once, refuses it until it expires, then forgets it', () => {
    const sut = new JtiReplayCache(10, clock);
    expect(sut.check('ehr', 'a', now + 300_000)).toBe('ok');
    expect(sut.check('ehr', 'a', now + 300_000)).toBe('replayed');
    expect(sut.check('other-ehr', 'a', now + 300_000)).toBe('ok'); // jti are per issuer
    now += 300_001;
    expect(sut.check('ehr', 'a', now + 300_000)).toBe('ok');
  });

  it('fails closed per issuer when its quota is full, without locking out other issuers', () => {
    const sut = new JtiReplayCache(100, clock);
    for (let i = 0; i < 100; i++) sut.check('noisy', `j${i}`, now + 300_000);
    expect(sut.size).toBe(100);
    expect(sut.check('noisy', 'one-more', now + 300_000)).toBe('full');
    expect(sut.check('quiet', 'first', now + 300_000)).toBe('ok');
    // A replay is still a replay when full (never evicted to make room).
    expect(sut.check('noisy', 'j0', now + 300_000)).toBe('replayed');
    now += 300_001;
    expect(sut.check('noisy', 'one-more', now + 300_000)).toBe('ok');
    expect(sut.size).toBeLessThanOrEqual(2 + 1);
  });

  it('drops expired entries as it goes, so memory follows the live tokens, not the history', () => {
    const sut = new JtiReplayCache(1000, clock);
    let ok = 0;
    for (let i = 0; i < 50_000; i++) {
      now += 10;
      if (sut.check('ehr', `j${i}`, now + 5_000) === 'ok') ok++;
    }
    expect(ok).toBe(50_000);
    // 5 s of lifetime at one token per 10 ms: about 500 live entries, never the 50,000 seen.
    expect(sut.size).toBeLessThanOrEqual(502);
  });

  it('frees an issuer whose entries expired out of insertion order', () => {
    const sut = new JtiReplayCache(100, clock);
    sut.check('ehr', 'long', now + 600_000);
    for (let i = 0; i < 99; i++) sut.check('ehr', `short${i}`, now + 1_000);
    expect(sut.check('ehr', 'x', now + 1_000)).toBe('full');
    now += 2_000;
    expect(sut.check('ehr', 'x', now + 1_000)).toBe('ok');
    expect(sut.check('ehr', 'long', now + 1_000)).toBe('replayed');
  });
});
