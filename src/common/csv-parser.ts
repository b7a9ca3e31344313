import { StringDecoder } from 'node:string_decoder';

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;

/** A CSV syntax error at a 1-based physical line (where the offending record starts). */
export class CsvSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/**
 * Incremental RFC 4180 parser: quoted fields, doubled quotes, embedded newlines, CRLF or LF (or CR)
 * record ends. Feed it chunks in order; every complete record is handed to `onRecord` with the line
 * it starts on, and only the unfinished tail of the input is kept, so memory stays at one chunk plus
 * one record. Blank lines are skipped (they are not records). No regular expressions: this runs per
 * byte; records without CR, embedded newlines or doubled quotes (nearly all of MIMIC) are split with
 * indexOf, a native scan, and only the rest goes through a per-character loop.
 */
export class CsvParser {
  private pending = '';
  private nextLine = 1;
  private readonly decoder = new StringDecoder('utf8');
  private started = false;
  /** Fields to materialise (by position); others are scanned and validated but read as ''. */
  private wanted: Uint8Array | undefined;
  /** One array reused for every record once `reuseRecords` is called (no per-row allocation). */
  private reused: string[] | undefined;

  constructor(private readonly onRecord: (fields: string[], line: number) => void) {}

  /**
   * From now on hand every record in one reused array (valid only during `onRecord`; copy it to keep
   * it) and, when `columns` is given, slice out only those field positions: the others stay ''. The
   * field count (`fields.length`) is always the record's real one. The per-field strings and arrays
   * were most of this parser's garbage, and a converter reads about half of MIMIC's columns.
   */
  reuseRecords(width: number, columns?: Iterable<number>): void {
    this.reused = new Array<string>(width).fill('');
    if (columns) {
      this.wanted = new Uint8Array(width);
      for (const c of columns) if (c >= 0 && c < width) this.wanted[c] = 1;
    } else {
      this.wanted = undefined;
    }
  }

  /** Feed raw bytes (UTF-8; multi-byte characters split across chunks are handled). */
  pushBytes(chunk: Buffer): void {
    this.push(this.decoder.write(chunk));
  }

  /** Feed decoded text. */
  push(text: string): void {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.parse(this.pending.length > 0 ? this.pending + text : text, false);
  }

  /** End of input: the last record may lack its line end; an open quote is an error. */
  end(): void {
    const rest = this.decoder.end();
    this.parse(this.pending + rest, true);
    this.pending = '';
  }

  private parse(s: string, final: boolean): void {
    const len = s.length;
    let p = 0;
    let line = this.nextLine;
    // Positions of the next quote and CR at or after p (len when none), refreshed once p passes them.
    let nextQuote = -1;
    let nextCr = -1;
    records: while (p < len) {
      const recordStart = p;
      const recordLine = line;
      let c = s.charCodeAt(p);
      if (c === LF) { p++; line++; continue; }
      if (c === CR) {
        if (p + 1 >= len && !final) break;
        p += s.charCodeAt(p + 1) === LF ? 2 : 1;
        line++;
        continue;
      }
      let fields = this.reused;
      if (fields === undefined) fields = [];
      const wanted = this.wanted;
      let k = 0;
      // Fast path, nearly every MIMIC record: no CR before the LF and no quoted field that holds a
      // newline or a doubled quote. Fields are then found with indexOf (native scans); anything else,
      // errors included, restarts the record in the per-character loop below.
      if (nextCr < p) { nextCr = s.indexOf('\r', p); if (nextCr === -1) nextCr = len; }
      const lf = s.indexOf('\n', p);
      if (lf !== -1 && lf < nextCr) {
        let done = false;
        for (;;) {
          const keep = wanted === undefined || (k < wanted.length && wanted[k] === 1);
          let end: number;
          if (s.charCodeAt(p) === QUOTE) {
            const e = s.indexOf('"', p + 1);
            if (e === -1 || e > lf) break;
            end = e + 1;
            const after = s.charCodeAt(end);
            if (after !== COMMA && after !== LF) break;
            fields[k++] = keep ? s.slice(p + 1, e) : '';
          } else {
            if (nextQuote < p) { nextQuote = s.indexOf('"', p); if (nextQuote === -1) nextQuote = len; }
            end = s.indexOf(',', p);
            if (end === -1 || end > lf) end = lf;
            if (nextQuote < end) break;
            fields[k++] = keep && end > p ? s.slice(p, end) : '';
          }
          p = end + 1;
          if (end === lf) { done = true; break; }
        }
        if (done) {
          line++;
          if (fields.length !== k) {
            fields.length = k;
            if (fields === this.reused) this.reused = undefined;
          }
          this.onRecord(fields, recordLine);
          continue;
        }
        p = recordStart;
        k = 0;
      }
      for (;;) {
        const keep = wanted === undefined || (k < wanted.length && wanted[k] === 1);
        c = s.charCodeAt(p);
        if (c === QUOTE) {
          let q = p + 1;
          let segment = q;
          let value = '';
          for (;;) {
            const e = s.indexOf('"', q);
            if (e === -1 || (e + 1 >= len && !final)) {
              if (!final) { p = recordStart; line = recordLine; break records; }
              throw new CsvSyntaxError(recordLine, 'unterminated quoted field');
            }
            if (s.charCodeAt(e + 1) === QUOTE) {
              if (keep) value += s.slice(segment, e + 1);
              q = e + 2;
              segment = q;
              continue;
            }
            if (keep) value += s.slice(segment, e);
            for (let nl = s.indexOf('\n', p + 1); nl !== -1 && nl < e; nl = s.indexOf('\n', nl + 1)) line++;
            p = e + 1;
            break;
          }
          fields[k++] = value;
          c = s.charCodeAt(p);
        } else {
          let j = p;
          while (j < len) {
            c = s.charCodeAt(j);
            if (c === COMMA || c === LF || c === CR) break;
            if (c === QUOTE) throw new CsvSyntaxError(recordLine, 'quote inside an unquoted field');
            j++;
          }
          if (j >= len) {
            if (!final) { p = recordStart; line = recordLine; break records; }
            c = NaN;
          }
          fields[k++] = keep && j > p ? s.slice(p, j) : '';
          p = j;
        }
        if (c === COMMA) { p++; continue; }
        if (c === LF) { p++; line++; break; }
        if (c === CR) {
          if (p + 1 >= len && !final) { p = recordStart; line = recordLine; break records; }
          p += s.charCodeAt(p + 1) === LF ? 2 : 1;
          line++;
          break;
        }
        if (p >= len) break;
        throw new CsvSyntaxError(recordLine, 'unexpected character after a closing quote');
      }
      if (fields.length !== k) {
        // Only a reused array can be longer; a short record is the caller's field-count error.
        fields.length = k;
        if (fields === this.reused) this.reused = undefined;
      }
      this.onRecord(fields, recordLine);
    }
    this.pending = p < len ? s.slice(p) : '';
    this.nextLine = line;
  }
}

/** Parse a whole CSV text (tests, small fixtures). */
export function parseCsvText(text: string): Array<{ fields: string[]; line: number }> {
  const out: Array<{ fields: string[]; line: number }> = [];
  const parser = new CsvParser((fields, line) => out.push({ fields, line }));
  parser.push(text);
  parser.end();
  return out;
}
