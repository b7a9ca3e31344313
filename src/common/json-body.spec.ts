import { BadRequestException } from '@nestjs/common';
import { forbiddenKeyPath, INCREMENTAL_PARSE_ABOVE_BYTES, MAX_INCREMENTAL_DEPTH, parseJsonBody } from './json-body';

/** A body just over the threshold: enough leading JSON whitespace (skipped before parsing) for `text` to take the incremental path. */
const large = (text: string) => Buffer.concat([Buffer.alloc(INCREMENTAL_PARSE_ABOVE_BYTES, 0x20), Buffer.from(text.replace(/^\ufeff/, ''))]);

/** The diagnostics of the 400 a body gets, or the parsed value. */
async function outcome(bytes: Buffer, slice?: number): Promise<unknown> {
  try {
    return { value: await parseJsonBody(bytes, slice) };
  } catch (e) {
    if (!(e instanceof BadRequestException)) throw e;
    return { error: (e.getResponse() as { issue: { diagnostics: string }[] }).issue[0].diagnostics };
  }
}

describe(parseJsonBody.name, () => {
  const texts = [
    '{"a":[1,-0,1e308,2.5e-3,{"b":null,"c":true,"d":false}],"e":"x\\u0041\\ud83d\\ude00\\n\\"","f":{}}',
    '[1,[2,[3,[]]],{}]',
    '{"dup":1,"dup":2}',
    '{"text":"Grüße, 日本, 😀"}',
    '\ufeff  {"bom":1}',
  ];

  it('gives the value JSON.parse gives, on the fast path and on the incremental path (any slice size)', async () => {
    for (const text of texts) {
      const expected = JSON.parse(text.replace(/^\ufeff/, ''));
      expect(await outcome(Buffer.from(text))).toEqual({ value: expected });
      for (const slice of [1, 3, 64 * 1024]) expect(await outcome(large(text), slice)).toEqual({ value: expected });
    }
  });

  it('keeps a prototype key as data, never as the prototype, and refuses it naming its path', async () => {
    const text = '{"a":[{"b":1},{"c":{"__proto__":{"polluted":true}}}]}';
    expect(await outcome(Buffer.from(text))).toEqual({ error: 'a[1].c.__proto__: this key is not allowed in a request' });
    expect(await outcome(large(text))).toEqual({ error: 'a[1].c.__proto__: this key is not allowed in a request' });
    expect(await outcome(large('{"x":{"constructor":{"prototype":1}}}'))).toEqual({ error: 'x.constructor.prototype: this key is not allowed in a request' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers an empty body with {} and refuses what is not a JSON object or array, on both paths', async () => {
    expect(await outcome(Buffer.alloc(0))).toEqual({ value: {} });
    expect(await outcome(Buffer.from(' \n'))).toEqual({ value: {} });
    for (const bad of ['"order-select"', 'null', '42', 'hook=order-select']) {
      expect(await outcome(Buffer.from(bad))).toEqual({ error: 'request body: not valid JSON (a request body is a JSON object)' });
      expect(await outcome(large(bad))).toEqual({ error: 'request body: not valid JSON (a request body is a JSON object)' });
    }
    for (const bad of ['{"a":', '{"a":1,}', '{"a":1} x', '{"a":1}{"b":2}', '{"a":tru}', '{"a":"\u0001"}']) {
      expect(await outcome(Buffer.from(bad))).toMatchObject({ error: expect.stringMatching(/^request body: not valid JSON \(.+\)$/) });
      expect(await outcome(large(bad))).toMatchObject({ error: expect.stringMatching(/^request body: not valid JSON \(.+\)$/) });
    }
  });

  it('refuses a large body nested deeper than MAX_INCREMENTAL_DEPTH while parsing it', async () => {
    const deep = `${'['.repeat(MAX_INCREMENTAL_DEPTH + 1)}${']'.repeat(MAX_INCREMENTAL_DEPTH + 1)}`;
    expect(await outcome(large(deep))).toEqual({ error: `request body: not valid JSON (nested deeper than ${MAX_INCREMENTAL_DEPTH} levels)` });
    const ok = `${'['.repeat(MAX_INCREMENTAL_DEPTH)}${']'.repeat(MAX_INCREMENTAL_DEPTH)}`;
    expect(await outcome(large(ok))).toEqual({ value: JSON.parse(ok) });
  });

  it('hands the event loop back while it parses a large body: timers run in between', async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ resourceType: 'Condition', id: `c${i}`, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'I10' }] } }));
    const bytes = Buffer.from(JSON.stringify({ entry: items }));
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const value = (await parseJsonBody(bytes, 16 * 1024)) as { entry: unknown[] };
    clearInterval(ticker);
    expect(value.entry).toHaveLength(20_000);
    // A single synchronous parse would let no timer run before it resolved.
    expect(ticks).toBeGreaterThan(3);
  });
});

describe(forbiddenKeyPath.name, () => {
  it('finds a prototype key at any depth, iteratively', () => {
    expect(forbiddenKeyPath(JSON.parse('{"a":[{"b":1},{"c":{"__proto__":{}}}]}'))).toBe('a[1].c.__proto__');
    expect(forbiddenKeyPath(JSON.parse('{"constructor":1}'))).toBe('constructor');
    expect(forbiddenKeyPath({ a: { prototype_: 1 } })).toBeUndefined();
    let deep: unknown = {};
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(forbiddenKeyPath(deep)).toBeUndefined();
  });
});
