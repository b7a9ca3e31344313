import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import type { Resource } from 'fhir/r4';
import { CliError } from '../common/cli-error';
import { fhirR4Problem, R4_RESOURCE_TYPES } from './fhir-resource.utils';

/** One NDJSON line with its byte position, so a second pass can read it back without rescanning. */
export interface NdjsonLine {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line's first byte, and its length without the line break. */
  offset: number;
  length: number;
  text: string;
}

/**
 * Streams the non-blank lines of an NDJSON file with their byte offsets. (node:readline hides
 * byte positions, which the per-patient index needs, so lines are split on 0x0A here; a trailing
 * CR is dropped.)
 */
export async function* readNdjsonLines(file: string): AsyncGenerator<NdjsonLine> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  let carry: Buffer | undefined;
  let carryOffset = 0;
  let line = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const buf = carry ? Buffer.concat([carry, chunk]) : chunk;
      const bufOffset = carryOffset; // byte offset of buf[0]
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
        line++;
        const item = sliceLine(buf, start, nl, bufOffset, line);
        if (item) yield item;
        start = nl + 1;
      }
      carry = start < buf.length ? buf.subarray(start) : undefined;
      carryOffset = bufOffset + start;
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (carry && carry.length > 0) {
    line++;
    const item = sliceLine(carry, 0, carry.length, carryOffset, line);
    if (item) yield item;
  }
}

function sliceLine(buf: Buffer, start: number, end: number, bufOffset: number, line: number): NdjsonLine | undefined {
  let stop = end;
  if (stop > start && buf[stop - 1] === 13) stop--;
  if (stop === start) return undefined;
  const text = buf.toString('utf8', start, stop);
  if (text.trim() === '') return undefined;
  return { line, offset: bufOffset + start, length: stop - start, text };
}

/**
 * The resource type a file name promises: the longest R4 type that starts the name once a
 * `Mimic` prefix and leading digits are dropped (`Condition.ndjson`, `MimicMedicationRequest.ndjson`,
 * `MimicConditionED.ndjson` → Condition, `1.Encounter.000.ndjson`). Undefined for names like `data.ndjson`.
 */
export function expectedTypeOfNdjson(file: string): string | undefined {
  let stem = path.basename(file).replace(/\.ndjson$/i, '');
  stem = stem.replace(/^[\d._-]+/, '').replace(/^Mimic/, '');
  const preR4 = /^(MedicationOrder|DiagnosticOrder|ProcedureRequest|ReferralRequest)/.exec(stem);
  if (preR4) return preR4[1];
  let best: string | undefined;
  for (const type of R4_RESOURCE_TYPES) {
    if (stem.startsWith(type) && (!best || type.length > best.length)) best = type;
  }
  return best;
}

/** Parses and checks one NDJSON line; errors are `file:line: …` CliErrors. */
export function parseNdjsonResource(file: string, item: { line: number; text: string }, expectedType: string | undefined): Resource {
  let value: unknown;
  try {
    value = JSON.parse(item.text);
  } catch (e) {
    throw new CliError(`${file}:${item.line}: not JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const problem = fhirR4Problem(value);
  if (problem) throw new CliError(`${file}:${item.line}: ${problem}`);
  const resource = value as Resource;
  if (expectedType && resource.resourceType !== expectedType) {
    throw new CliError(`${file}:${item.line}: resourceType ${resource.resourceType} where ${expectedType} expected`);
  }
  return resource;
}

/** Reads `length` bytes at `offset` of an open file, for the second (per-patient) pass. */
export async function readRange(handle: Awaited<ReturnType<typeof open>>, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}
