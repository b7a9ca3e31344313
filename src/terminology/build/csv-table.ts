import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** One CSV data row as header → cell. */
export type CsvRecord = Record<string, string>;

/**
 * Parse RFC 4180 CSV text (quoted cells, doubled quotes, CR/LF, newlines inside quotes). Returns
 * the rows as string arrays; `source` names the file in errors.
 */
export function parseCsvRows(text: string, source: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      if (ch === '\n') line++;
      cell += ch; i++; continue;
    }
    if (ch === '"') {
      if (cell.length > 0) throw new Error(`${source}:${line}: quote inside an unquoted cell`);
      quoted = true; i++; continue;
    }
    if (ch === ',') { row.push(cell); cell = ''; i++; continue; }
    if (ch === '\r' || ch === '\n') {
      row.push(cell); cell = '';
      if (!(row.length === 1 && row[0] === '')) rows.push(row);
      row = [];
      if (ch === '\r' && text[i + 1] === '\n') i++;
      i++; line++; continue;
    }
    cell += ch; i++;
  }
  if (quoted) throw new Error(`${source}:${line}: unterminated quoted cell`);
  if (cell.length > 0 || row.length > 0) { row.push(cell); rows.push(row); }
  return rows;
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
