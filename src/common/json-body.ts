import { BadRequestException } from '@nestjs/common';
import { JSONParser, TokenType } from '@streamparser/json';
import type { HttpRequest, HttpResponse, NextFunction } from './http.types';
import { nextTurn } from './next-turn';
import { operationOutcome } from './operation-outcome';

/**
 * JSON request bodies, parsed without holding the event loop. A body up to
 * INCREMENTAL_PARSE_ABOVE_BYTES is one `JSON.parse` (a few milliseconds: the fast path for every
 * ordinary patient); a larger one is fed to @streamparser/json in slices of PARSE_SLICE_BYTES with
 * the event loop handed back between them, so a 10 MB record does not make /health/live wait for
 * its parse (issue 9). Worker threads do not help: structured-cloning the parsed value back costs
 * the main thread more than `JSON.parse` itself (178–495 ms against 88 ms for 11 MB, measured).
 */
export const INCREMENTAL_PARSE_ABOVE_BYTES = 1024 * 1024;
/** About 2 ms of parsing on an idle core, 10 ms on a busy one. */
const PARSE_SLICE_BYTES = 64 * 1024;
/** Deeper nesting is refused while parsing a large body (FHIR nests about 10 levels); it would cost memory per level. */
export const MAX_INCREMENTAL_DEPTH = 512;

/** Keys that reach Object.prototype machinery when assigned; never meaningful in FHIR or CDS Hooks JSON. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A JSON path as the service names fields: `prefetch.conditions.entry[3].resource.code`. */
export function jsonPath(at: readonly (string | number)[]): string {
  let out = '';
  for (const p of at) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/**
 * The path of the first forbidden key anywhere in a parsed JSON value, or undefined. Iterative (a
 * hostile body can be nested far deeper than the stack).
 */
export function forbiddenKeyPath(root: unknown): string | undefined {
  interface Node { v: unknown; parent?: Node; key?: string | number }
  const pathOf = (n: Node, key: string): string => {
    const keys: (string | number)[] = [key];
    for (let p: Node = n; p.key !== undefined; p = p.parent!) keys.push(p.key);
    return jsonPath(keys.reverse());
  };
  const stack: Node[] = [{ v: root }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const v = node.v;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) if (typeof v[i] === 'object' && v[i] !== null) stack.push({ v: v[i], parent: node, key: i });
      continue;
    }
    for (const key of Object.keys(v as object)) {
      if (FORBIDDEN_KEYS.has(key)) return pathOf(node, key);
      const child = (v as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push({ v: child, parent: node, key });
    }
  }
  return undefined;
}

const SUSPECT_BYTES = [...FORBIDDEN_KEYS, '\\u'].map((k) => Buffer.from(k));

/** Whether raw JSON bytes may hold a forbidden key (spelled out or escaped); only such bodies get the key walk. */
export function mayHoldForbiddenKey(bytes: Buffer): boolean {
  return SUSPECT_BYTES.some((k) => bytes.includes(k));
}

const notJson = (why: string) => new BadRequestException(operationOutcome('invalid', [`request body: not valid JSON (${why.split('\n')[0].slice(0, 200)})`]));
const forbidden = (at: string) => new BadRequestException(operationOutcome('invalid', [`${at}: this key is not allowed in a request`]));

/**
 * Parses a request body (UTF-8 bytes, already inflated and within CDS_BODY_LIMIT) as a JSON object
 * or array, refusing a forbidden key anywhere with a 400 that names its path. An empty body is `{}`
 * (the validators then name what is missing), as with Express's JSON parser.
 */
export async function parseJsonBody(bytes: Buffer, sliceBytes = PARSE_SLICE_BYTES): Promise<unknown> {
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (start < bytes.length && (bytes[start] === 0x20 || bytes[start] === 0x09 || bytes[start] === 0x0a || bytes[start] === 0x0d)) start++;
  if (start === bytes.length) return {};
  if (bytes[start] !== 0x7b && bytes[start] !== 0x5b) throw notJson('a request body is a JSON object');
  if (bytes.length <= INCREMENTAL_PARSE_ABOVE_BYTES) {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8', start));
    } catch (e) {
      throw notJson((e as Error).message);
    }
    const at = mayHoldForbiddenKey(bytes) ? forbiddenKeyPath(value) : undefined;
    if (at !== undefined) throw forbidden(at);
    return value;
  }
  return parseIncrementally(bytes.subarray(start), sliceBytes);
}

class ForbiddenKey extends Error {}
class TooDeep extends Error {}

async function parseIncrementally(bytes: Buffer, sliceBytes: number): Promise<unknown> {
  const parser = new JSONParser();
  let root: unknown;
  let depth = 0;
  // Every value is reported once complete, with its key and the keys of the containers above it.
  parser.onValue = ({ value, key, stack }) => {
    if (stack.length === 0) root = value;
    else if (typeof key === 'string' && FORBIDDEN_KEYS.has(key)) throw new ForbiddenKey(jsonPath([...stack.slice(1).map((s) => s.key as string | number), key]));
  };
  parser.onToken = ({ token }) => {
    if (token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET) {
      if (++depth > MAX_INCREMENTAL_DEPTH) throw new TooDeep();
    } else if (token === TokenType.RIGHT_BRACE || token === TokenType.RIGHT_BRACKET) depth--;
  };
  try {
    for (let at = 0; at < bytes.length; at += sliceBytes) {
      if (at > 0) await nextTurn();
      parser.write(bytes.subarray(at, at + sliceBytes));
    }
    if (!parser.isEnded) parser.end();
  } catch (e) {
    if (e instanceof ForbiddenKey) throw forbidden(e.message);
    if (e instanceof TooDeep) throw notJson(`nested deeper than ${MAX_INCREMENTAL_DEPTH} levels`);
    throw notJson((e as Error).message);
  }
  return root;
}

/**
 * Express middleware after body-parser's raw reader (which has checked the Content-Encoding,
 * inflated the body and applied CDS_BODY_LIMIT): turns the bytes into JSON, or a 400.
 */
export function jsonBodyParser(): (req: HttpRequest, res: HttpResponse, next: NextFunction) => void {
  return (req, _res, next) => {
    if (!Buffer.isBuffer(req.body)) return next();
    parseJsonBody(req.body).then((value) => {
      req.body = value;
      next();
    }, next);
  };
}
