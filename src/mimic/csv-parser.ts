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
 * one record. Blank lines are skipped (they are not records). No regular expressions: this runs per byte.
 */
export class CsvParser {
  private pending = '';
  private nextLine = 1;
  private readonly decoder = new StringDecoder('utf8');
  private started = false;

  constructor(private readonly onRecord: (fields: string[], line: number) => void) {}

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
      const fields: string[] = [];
      for (;;) {
        c = s.charCodeAt(p);
        if (c === QUOTE) {
          let q = p + 1;
          let segment = q;
          let value = '';
          for (;;) {
            const k = s.indexOf('"', q);
            if (k === -1 || (k + 1 >= len && !final)) {
              if (!final) { p = recordStart; line = recordLine; break records; }
              throw new CsvSyntaxError(recordLine, 'unterminated quoted field');
            }
            if (s.charCodeAt(k + 1) === QUOTE) {
              value += s.slice(segment, k + 1);
              q = k + 2;
              segment = q;
              continue;
            }
            value += s.slice(segment, k);
            p = k + 1;
            break;
          }
          for (let nl = value.indexOf('\n'); nl !== -1; nl = value.indexOf('\n', nl + 1)) line++;
          fields.push(value);
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
          fields.push(s.slice(p, j));
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
