import { promises as fs } from 'node:fs';

/**
 * Appends one JSON resource per line. Lines are collected and written in blocks of about 1 MB, so
 * the per-row cost is one JSON.stringify and an array push; `flushIfFull` awaits the write, which
 * is how the converter applies backpressure between input chunks.
 */
export class NdjsonWriter {
  private lines: string[] = [];
  private pendingChars = 0;
  count = 0;

  private constructor(readonly file: string, private readonly handle: fs.FileHandle) {}

  static async create(file: string): Promise<NdjsonWriter> {
    return new NdjsonWriter(file, await fs.open(file, 'w'));
  }

  add(resource: object): void {
    const line = JSON.stringify(resource);
    this.lines.push(line);
    this.pendingChars += line.length;
    this.count++;
  }

  async flushIfFull(): Promise<void> {
    if (this.pendingChars >= 1 << 20) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    this.pendingChars = 0;
    await this.handle.writeFile(text, 'utf8');
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }
}
