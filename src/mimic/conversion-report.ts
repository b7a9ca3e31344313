/** Rows that did not become a resource (dropped) or became one with a caveat (warning), by reason. */
export interface ReasonCount {
  table: string;
  reason: string;
  count: number;
  /** Up to five source line numbers, to find the rows (never the row contents: they are patient data). */
  exampleLines: number[];
}

export class ConversionReport {
  private readonly dropped = new Map<string, ReasonCount>();
  private readonly warnings = new Map<string, ReasonCount>();

  drop(table: string, reason: string, line: number): void {
    ConversionReport.count(this.dropped, table, reason, line);
  }

  warn(table: string, reason: string, line: number): void {
    ConversionReport.count(this.warnings, table, reason, line);
  }

  droppedCount(): number {
    let n = 0;
    for (const r of this.dropped.values()) n += r.count;
    return n;
  }

  droppedList(): ReasonCount[] {
    return [...this.dropped.values()];
  }

  warningList(): ReasonCount[] {
    return [...this.warnings.values()];
  }

  private static count(into: Map<string, ReasonCount>, table: string, reason: string, line: number): void {
    const key = `${table}\u0000${reason}`;
    let r = into.get(key);
    if (!r) into.set(key, (r = { table, reason, count: 0, exampleLines: [] }));
    r.count++;
    if (line > 0 && r.exampleLines.length < 5) r.exampleLines.push(line);
  }
}
