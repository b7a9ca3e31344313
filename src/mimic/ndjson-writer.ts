import { promises as fs } from 'node:fs';

const CHUNK_BYTES = 1 << 20;

/**
 * Appends one JSON resource per line. Each line is encoded straight into a 1 MB buffer (so the
 * string dies young and is never joined or kept), and full buffers are written when the converter
 * calls `flushIfFull` between input chunks: that await is the backpressure, and memory stays at
 * about one input chunk's worth of output.
 */
export class NdjsonWriter {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private used = 0;
  private full: Buffer[] = [];
  count = 0;

  private constructor(readonly file: string, private readonly handle: fs.FileHandle) {}

  static async create(file: string): Promise<NdjsonWriter> {
    return new NdjsonWriter(file, await fs.open(file, 'w'));
  }

  add(resource: object): void {
    this.addLine(JSON.stringify(resource));
  }

  /** A resource already serialised as one line of JSON (no newline). */
  addLine(line: string): void {
    const worstCase = line.length * 3 + 1;
    if (this.used + worstCase > this.buffer.length) {
      if (this.used > 0) this.full.push(this.buffer.subarray(0, this.used));
      this.buffer = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, worstCase));
      this.used = 0;
    }
    this.used += this.buffer.write(line, this.used, 'utf8');
    this.buffer[this.used++] = 0x0a;
    this.count++;
  }

  async flushIfFull(): Promise<void> {
    if (this.full.length === 0) return;
    const chunks = this.full;
    this.full = [];
    for (const chunk of chunks) await this.handle.writeFile(chunk);
  }

  async flush(): Promise<void> {
    if (this.used > 0) {
      this.full.push(this.buffer.subarray(0, this.used));
      this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      this.used = 0;
    }
    await this.flushIfFull();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }
}
