/**
 * The generator of hostile and broken CDS Hooks requests: every field the service reads, set to
 * every wrong JSON type, plus wire-level faults (encodings, charsets, sizes, broken JSON, prototype
 * keys), JWT faults, hostile FHIR servers and the long records. Each case says what must come back:
 * never a 5xx, within the latency bound, and for a 400 an OperationOutcome naming the field.
 */
import { INCREMENTAL_PARSE_ABOVE_BYTES } from '../../src/common/json-body';
import type { HostileBehaviour } from './hostile-fhir-server';

export interface HostileCase {
  family: string;
  name: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** A JSON value (serialised once, before timing) or raw bytes. */
  body?: unknown;
  raw?: Buffer;
  /** 'valid': a fresh JWT for this path; 'none': no Authorization; otherwise the header value. */
  auth: 'valid' | 'none' | { header: string };
  /** Statuses accepted (default: any 2xx-4xx). */
  expect?: number[];
  /** For a 400/413/422/412: text the OperationOutcome's diagnostics must contain. */
  names?: string;
}

export const SELECT = 'leader-medications-order-select';
export const SELECT_PATH = `/cds-services/${SELECT}`;

/** Values of every JSON type (and shapes that trip a naive reader) put in place of a field. */
const WRONG_VALUES: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a boolean', true],
  ['a string', 'x'],
  ['an empty array', []],
  ['an empty object', {}],
  ['[null]', [null]],
  ['[42]', [42]],
];

/** Fields the service reads, by path from the request root. */
const FIELDS = [
  'hook', 'hookInstance', 'fhirServer', 'fhirAuthorization', 'context', 'prefetch', 'extension',
  'context.userId', 'context.patientId', 'context.encounterId', 'context.selections', 'context.draftOrders',
  'context.draftOrders.entry', 'context.draftOrders.entry[0]', 'context.draftOrders.entry[0].resource',
  'context.draftOrders.entry[0].resource.resourceType', 'context.draftOrders.entry[0].resource.id',
  'context.draftOrders.entry[0].resource.status', 'context.draftOrders.entry[0].resource.medicationCodeableConcept',
  'context.draftOrders.entry[0].resource.medicationCodeableConcept.coding', 'context.draftOrders.entry[0].resource.medicationCodeableConcept.coding[0]',
  'context.draftOrders.entry[0].resource.medicationCodeableConcept.coding[0].code', 'context.draftOrders.entry[0].resource.medicationCodeableConcept.coding[0].system',
  'context.draftOrders.entry[0].resource.medicationCodeableConcept.text', 'context.draftOrders.entry[0].resource.medicationReference',
  'context.draftOrders.entry[0].resource.medicationReference.reference', 'context.draftOrders.entry[0].resource.contained',
  'context.draftOrders.entry[0].resource.reasonCode', 'context.draftOrders.entry[0].resource.subject',
  'prefetch.patient', 'prefetch.patient.birthDate', 'prefetch.patient.gender', 'prefetch.patient.extension', 'prefetch.patient.communication',
  'prefetch.encounters', 'prefetch.encounters.entry', 'prefetch.encounters.entry[0]', 'prefetch.encounters.entry[0].resource',
  'prefetch.encounters.link', 'prefetch.encounters.entry[0].resource.period', 'prefetch.encounters.entry[0].resource.period.start',
  'prefetch.encounters.entry[0].resource.partOf', 'prefetch.encounters.entry[0].resource.partOf.reference',
  'prefetch.encounters.entry[0].resource.class', 'prefetch.encounters.entry[0].resource.type', 'prefetch.encounters.entry[0].resource.status',
  'prefetch.conditions', 'prefetch.conditions.entry[0].resource.code', 'prefetch.conditions.entry[0].resource.code.coding',
  'prefetch.conditions.entry[0].resource.code.coding[0].code', 'prefetch.conditions.entry[0].resource.category',
  'prefetch.conditions.entry[0].resource.verificationStatus', 'prefetch.conditions.entry[0].resource.encounter',
  'prefetch.conditions.entry[0].resource.encounter.reference', 'prefetch.conditions.entry[0].resource.onsetDateTime',
  'prefetch.conditions.entry[0].resource.subject',
  'prefetch.procedures', 'prefetch.procedures.entry[0].resource.performedDateTime',
  'prefetch.medicationRequests', 'prefetch.medicationRequests.entry[0].resource.medicationReference',
  'prefetch.medicationRequests.entry[0].resource.medicationCodeableConcept', 'prefetch.medicationRequests.entry[0].resource.contained',
  'prefetch.medicationRequests.entry[0].resource.authoredOn', 'prefetch.medicationRequests.entry[0].resource.dispenseRequest',
];

/** The field name a diagnostic must mention: the path's last key. */
function lastKey(path: string): string {
  const keys = path.replace(/\[\d+\]/g, '').split('.');
  return keys[keys.length - 1];
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.').flatMap((p) => p.split(/\[(\d+)\]/).filter((s) => s !== '').map((s) => (/^\d+$/.test(s) ? Number(s) : s)));
  let node: Record<string | number, unknown> = root;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i];
    let child = node[k];
    if (typeof child !== 'object' || child === null) {
      child = typeof parts[i + 1] === 'number' ? [] : {};
      node[k] = child;
    }
    node = child as Record<string | number, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

/** One case per (field, wrong value), on a valid order-select request. */
export function fieldCases(valid: Record<string, unknown>): HostileCase[] {
  const cases: HostileCase[] = [];
  for (const path of FIELDS) {
    for (const [what, value] of WRONG_VALUES) {
      const body = structuredClone(valid);
      setPath(body, path, value);
      cases.push({ family: 'field type', name: `${path} = ${what}`, method: 'POST', path: SELECT_PATH, body, auth: 'valid', names: lastKey(path) });
    }
  }
  return cases;
}

const PROTO_BODIES: [string, string][] = [
  ['top-level __proto__ with an object hookInstance', '{"__proto__":{"x":1},"hook":"order-select","hookInstance":{"a":1},"context":{"userId":"Practitioner/1","patientId":"alice"}}'],
  ['top-level constructor', '{"constructor":{"prototype":{}},"hook":"order-select","hookInstance":"1c1b2f1e-4a8b-4a55-9b3c-0f1f5d5e0c01"}'],
  ['__proto__ in context', '{"hook":"order-select","hookInstance":"1c1b2f1e-4a8b-4a55-9b3c-0f1f5d5e0c01","context":{"__proto__":{"userId":"Practitioner/1"},"patientId":"alice"}}'],
  ['escaped \\u005f_proto__ key', '{"\\u005f_proto__":{},"hook":"order-select","hookInstance":"Jane Doe 1970-01-01 MRN 123","context":{}}'],
  ['__proto__ deep in prefetch', '{"hook":"order-select","hookInstance":"1c1b2f1e-4a8b-4a55-9b3c-0f1f5d5e0c01","context":{"userId":"Practitioner/1","patientId":"alice"},"prefetch":{"conditions":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Condition","__proto__":{"code":1}}}]}}}'],
  ['prototype key in feedback', '{"feedback":[{"card":"c","outcome":"overridden","outcomeTimestamp":"2026-01-01T00:00:00Z","prototype":{}}]}'],
];

/** Wire-level faults: encodings, charsets, sizes, broken JSON, prototype keys, methods and paths. */
export function wireCases(valid: Record<string, unknown>, bodyLimitBytes: number, bombs: { gzip: Buffer; deflate: Buffer; plain: Buffer }): HostileCase[] {
  const json = Buffer.from(JSON.stringify(valid));
  const post = (name: string, extra: Partial<HostileCase>): HostileCase => ({ family: 'wire', name, method: 'POST', path: SELECT_PATH, auth: 'valid', ...extra });
  const cases: HostileCase[] = [
    post('Content-Type with charset=latin1', { raw: json, headers: { 'Content-Type': 'application/json; charset=latin1' }, expect: [415], names: 'charset' }),
    post('Content-Type with charset=utf-16', { raw: json, headers: { 'Content-Type': 'application/json; charset=utf-16' }, expect: [415], names: 'charset' }),
    post('Content-Type text/plain', { raw: json, headers: { 'Content-Type': 'text/plain' }, expect: [400], names: 'JSON object' }),
    post('no Content-Type', { raw: json, headers: {}, expect: [400] }),
    post('application/fhir+json', { raw: json, headers: { 'Content-Type': 'application/fhir+json' }, expect: [200] }),
    post('Content-Encoding gzip on a plain body', { raw: json, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, expect: [400], names: 'Content-Encoding' }),
    post('Content-Encoding deflate on a plain body', { raw: json, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' }, expect: [400], names: 'Content-Encoding' }),
    post('Content-Encoding br on a plain body', { raw: json, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'br' }, expect: [400] }),
    post('an unknown Content-Encoding', { raw: json, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'zstd-ish' }, expect: [415], names: 'Content-Encoding' }),
    post('a gzip bomb (inflates to 200 MB)', { raw: bombs.gzip, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, expect: [413], names: 'CDS_BODY_LIMIT' }),
    post('a deflate bomb (inflates to 200 MB)', { raw: bombs.deflate, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' }, expect: [413], names: 'CDS_BODY_LIMIT' }),
    post(`a body over CDS_BODY_LIMIT (${Math.round(bombs.plain.length / 1024 / 1024)} MiB)`, { raw: bombs.plain, headers: { 'Content-Type': 'application/json' }, expect: [413], names: 'CDS_BODY_LIMIT' }),
    post('truncated JSON', { raw: json.subarray(0, Math.floor(json.length / 2)), headers: { 'Content-Type': 'application/json' }, expect: [400], names: 'JSON' }),
    post('not JSON at all', { raw: Buffer.from('hook=order-select'), headers: { 'Content-Type': 'application/json' }, expect: [400], names: 'JSON' }),
    post('an empty body', { raw: Buffer.alloc(0), headers: { 'Content-Type': 'application/json' }, expect: [400] }),
    post('a JSON array', { raw: Buffer.from('[1,2,3]'), headers: { 'Content-Type': 'application/json' }, expect: [400], names: 'JSON object' }),
    post('a JSON string', { raw: Buffer.from('"order-select"'), headers: { 'Content-Type': 'application/json' }, expect: [400] }),
    post('JSON null', { raw: Buffer.from('null'), headers: { 'Content-Type': 'application/json' }, expect: [400] }),
    post('nesting 100,000 deep', { raw: Buffer.from(`${'['.repeat(100_000)}${']'.repeat(100_000)}`), headers: { 'Content-Type': 'application/json' }, expect: [400] }),
    post('nesting 5,000 deep inside prefetch', { raw: Buffer.from(`{"hook":"order-select","hookInstance":"1c1b2f1e-4a8b-4a55-9b3c-0f1f5d5e0c01","context":{"userId":"Practitioner/1","patientId":"alice","selections":[],"draftOrders":{"resourceType":"Bundle","entry":[]}},"prefetch":{"conditions":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Condition","extension":${'[{"extension":'.repeat(5000)}[]${'}]'.repeat(5000)}}}]}}}`), headers: { 'Content-Type': 'application/json' }, expect: [400] }),
    post('invalid UTF-8 bytes', { raw: Buffer.concat([Buffer.from('{"hook":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), headers: { 'Content-Type': 'application/json' }, expect: [400] }),
    post('a huge number for hookInstance', { raw: Buffer.from(JSON.stringify({ ...valid, hookInstance: 1e308 })), headers: { 'Content-Type': 'application/json' }, expect: [400], names: 'hookInstance' }),
    post('an oversized hookInstance', { body: { ...valid, hookInstance: 'x'.repeat(100_000) }, expect: [400], names: 'hookInstance' }),
    post('hookInstance with patient data (not a UUID)', { body: { ...valid, hookInstance: 'Jane Doe 1970-01-01 MRN 123456' }, expect: [200] }),
    post('duplicate keys', { raw: Buffer.from(JSON.stringify(valid).replace('{', '{"hook":"patient-view",')), headers: { 'Content-Type': 'application/json' }, expect: [200, 400] }),
    post('another hook for this service', { body: { ...valid, hook: 'patient-view' }, expect: [400], names: 'hook' }),
    post('an unknown hook', { body: { ...valid, hook: 'encounter-discharge' }, expect: [400], names: 'hook' }),
    post('fhirAuthorization without fhirServer', { body: { ...valid, fhirAuthorization: { access_token: 't', token_type: 'Bearer', expires_in: 1, scope: 's', subject: 's' } }, expect: [400], names: 'fhirServer' }),
    post('a fhirServer the client is not registered for (SSRF)', { body: { ...valid, prefetch: undefined, fhirServer: 'http://127.0.0.1:1/admin/', fhirAuthorization: { access_token: 't', token_type: 'Bearer', expires_in: 1, scope: 's', subject: 's' } }, expect: [400], names: 'fhirServer' }),
    post('a fhirServer with credentials in the URL', { body: { ...valid, prefetch: undefined, fhirServer: 'http://user:pw@127.0.0.1:1/' }, expect: [400], names: 'fhirServer' }),
    post('a prefetch Patient of another patient', { body: { ...valid, prefetch: { ...(valid.prefetch as object), patient: { resourceType: 'Patient', id: 'mallory' } } }, expect: [400], names: 'patient' }),
    post('a prefetch Bundle nested in a Bundle', { body: { ...valid, prefetch: { ...(valid.prefetch as object), conditions: { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Bundle', entry: [] } }] } } }, expect: [400], names: 'Bundle' }),
    post('an unknown service', { path: '/cds-services/no-such-service', body: valid, expect: [404] }),
    post('path traversal', { path: '/cds-services/..%2f..%2fhealth%2flive', body: valid, expect: [404] }),
    post('a very long service id', { path: `/cds-services/${'a'.repeat(8000)}`, body: valid, expect: [404, 414, 431] }),
    { family: 'wire', name: 'GET on a hook', method: 'GET', path: SELECT_PATH, auth: 'valid', expect: [404] },
    post('feedback with 100,000 items', { path: `${SELECT_PATH}/feedback`, body: { feedback: Array.from({ length: 100_000 }, (_, i) => ({ card: `c${i}`, outcome: 'overridden', outcomeTimestamp: '2026-01-01T00:00:00Z' })) }, expect: [413], names: 'CDS_FEEDBACK_MAX_ITEMS' }),
    post('feedback with an ISO-week timestamp', { path: `${SELECT_PATH}/feedback`, body: { feedback: [{ card: 'c-week', outcome: 'overridden', outcomeTimestamp: '2026-W48-1' }] }, expect: [200, 400] }),
    post('feedback that is not an array', { path: `${SELECT_PATH}/feedback`, body: { feedback: { card: 'c' } }, expect: [400], names: 'feedback' }),
    post('feedback items of the wrong type', { path: `${SELECT_PATH}/feedback`, body: { feedback: [null, 1, 'x'] }, expect: [400] }),
  ];
  for (const [name, text] of PROTO_BODIES) {
    const path = name.includes('feedback') ? `${SELECT_PATH}/feedback` : SELECT_PATH;
    cases.push(post(name, { path, raw: Buffer.from(text), headers: { 'Content-Type': 'application/json' }, expect: [400], names: name.includes('constructor') ? 'constructor' : name.includes('prototype') ? 'prototype' : '__proto__' }));
  }
  // Bodies over INCREMENTAL_PARSE_ABOVE_BYTES are parsed in slices (common/json-body): the same faults there, padded with JSON whitespace inside the body.
  const large = (name: string, text: Buffer | string, extra: Partial<HostileCase>) => {
    const t = Buffer.from(text);
    const padding = Buffer.alloc(INCREMENTAL_PARSE_ABOVE_BYTES + 64 * 1024, 0x20);
    cases.push(post(`${name} (over ${INCREMENTAL_PARSE_ABOVE_BYTES / 2 ** 20} MiB, parsed in slices)`, { raw: Buffer.concat([t.subarray(0, 1), padding, t.subarray(1)]), headers: { 'Content-Type': 'application/json' }, expect: [400], ...extra }));
  };
  for (const [name, text] of PROTO_BODIES.filter(([n]) => !n.includes('feedback'))) large(name, text, { names: name.includes('constructor') ? 'constructor' : '__proto__' });
  large('truncated JSON', json.subarray(0, Math.floor(json.length / 2)), { names: 'not valid JSON' });
  large('a JSON array', '[1,2,3]', { names: 'JSON object' });
  large('nesting 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, { names: 'nested deeper than' });
  large('invalid UTF-8 bytes', Buffer.concat([Buffer.from('{"hook":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]), {});
  void bodyLimitBytes;
  return cases;
}

/** JWT faults (the full matrix lives in test/e2e/cds-auth.e2e-spec.ts; these run with the rest of the traffic). */
export function authCases(valid: Record<string, unknown>, tokens: { expired: string; otherAud: string; lifetime: string; garbage: string }): HostileCase[] {
  const post = (name: string, auth: HostileCase['auth'], extra: Partial<HostileCase> = {}): HostileCase => ({ family: 'jwt', name, method: 'POST', path: SELECT_PATH, body: valid, auth, expect: [401], ...extra });
  return [
    post('no token', 'none'),
    post('no token and invalid JSON', 'none', { body: undefined, raw: Buffer.from('{oops'), headers: { 'Content-Type': 'application/json' } }),
    post('no token and a body over the limit', 'none', { body: undefined, raw: Buffer.alloc(25 * 1024 * 1024, 0x20), headers: { 'Content-Type': 'application/json' } }),
    post('an expired token', { header: `Bearer ${tokens.expired}` }),
    post('a token for another service with its Host header', { header: `Bearer ${tokens.otherAud}` }, { headers: { Host: 'other.example', 'Content-Type': 'application/json' } }),
    post('a token with a 1-day lifetime', { header: `Bearer ${tokens.lifetime}` }),
    post('a token that is not a JWT', { header: `Bearer ${tokens.garbage}` }),
    post('Basic instead of Bearer', { header: 'Basic dXNlcjpwYXNz' }),
    post('a 100 kB Authorization header', { header: `Bearer ${'a'.repeat(100_000)}` }, { expect: [401, 431] }),
  ];
}

/** Hooks that must fetch from a misbehaving FHIR server: 412 naming the key, in bounded time. */
export function fhirServerCases(valid: Record<string, unknown>, base: (b: HostileBehaviour) => string, behaviours: HostileBehaviour[]): HostileCase[] {
  return behaviours.map((b) => ({
    family: 'FHIR server',
    name: `fhirServer answers with ${b}`,
    method: 'POST',
    path: SELECT_PATH,
    body: { ...valid, prefetch: { patient: (valid.prefetch as Record<string, unknown>).patient }, fhirServer: base(b), fhirAuthorization: { access_token: 'secret-token', token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'leader' } },
    auth: 'valid',
    expect: [412],
    names: 'prefetch key',
  }));
}
