import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CsvSyntaxError, parseCsvText } from '../../common/csv-parser';

/** One CSV data row as header → cell. */
export type CsvRecord = Record<string, string>;

/** Parse RFC 4180 CSV text into rows of cells (the streaming parser, whole text at once); `source` names the file in errors. */
export function parseCsvRows(text: string, source: string): string[][] {
  try {
    return parseCsvText(text).map((r) => r.fields);
  } catch (e) {
    if (e instanceof CsvSyntaxError) throw new Error(`${source}:${e.line}: ${e.message}`);
    throw e;
  }
}

/** Parse CSV text with a header row into records; a row with a different cell count is an error naming file and row. */
export function parseCsvRecords(text: string, source: string, header = true, columns?: string[]): CsvRecord[] {
  const rows = parseCsvRows(text, source);
  const names = header ? rows.shift() : columns;
  if (!names) throw new Error(`${source}: empty file, expected a header row`);
  return rows.map((cells, k) => {
    if (cells.length !== names.length) {
      throw new Error(`${source}: data row ${k + 1} has ${cells.length} cells, the header has ${names.length}`);
    }
    const rec: CsvRecord = {};
    names.forEach((name, j) => { rec[name] = cells[j]; });
    return rec;
  });
}

/** Read a .csv or .csv.gz file. */
export function readCsvText(file: string): string {
  const raw = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

/** Read a CSV(.gz) file with a header and check it has the columns the caller needs. */
export function readCsvRecords(file: string, required: string[]): CsvRecord[] {
  const text = readCsvText(file);
  const records = parseCsvRecords(text, file);
  const first = parseCsvRows(text.slice(0, text.indexOf('\n') + 1 || undefined), file)[0] ?? [];
  const missing = required.filter((c) => !first.includes(c));
  if (missing.length > 0) throw new Error(`${file}: missing column(s) ${missing.join(', ')}`);
  return records;
}
