import { SingleBar, Presets } from 'cli-progress';

/**
 * The one progress reporter of the CLI. Bars and summaries go to stderr, so stdout stays clean for
 * data (`--json`, `demo-request | curl`). When stderr is not a TTY (CI, pipes) it prints a plain line
 * every few seconds instead of redrawing a bar.
 */
export interface ProgressBar {
  increment(by?: number, payload?: Record<string, string | number>): void;
  update(value: number, payload?: Record<string, string | number>): void;
  setTotal(total: number): void;
  stop(): void;
}

export class ProgressReporter {
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly quiet = false,
  ) {}

  /** Start a bar for one named phase; `unit` is what is counted (rows, samples, bytes). */
  bar(label: string, total: number, unit = 'items'): ProgressBar {
    if (this.quiet) return { increment() {}, update() {}, setTotal() {}, stop() {} };
    if (this.out.isTTY) {
      const bar = new SingleBar(
        { format: `${label.padEnd(22)} {bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`, stream: this.out, hideCursor: true, etaBuffer: 50 },
        Presets.shades_classic,
      );
      const started = Date.now();
      let value = 0;
      const rate = () => Math.round(value / Math.max(0.001, (Date.now() - started) / 1000));
      bar.start(total, 0, { rate: 0 });
      return {
        increment: (by = 1, payload) => { value += by; bar.increment(by, { rate: rate(), ...payload }); },
        update: (v, payload) => { value = v; bar.update(v, { rate: rate(), ...payload }); },
        setTotal: (t) => bar.setTotal(t),
        stop: () => bar.stop(),
      };
    }
    return new PlainProgress(this.out, label, total, unit);
  }

  /** One line of information (summaries, "wrote X to Y"). */
  info(line: string): void {
    if (!this.quiet) this.out.write(`${line}\n`);
  }
}

class PlainProgress implements ProgressBar {
  private value = 0;
  private lastPrint = 0;
  private readonly started = Date.now();
  constructor(private readonly out: NodeJS.WriteStream, private readonly label: string, private total: number, private readonly unit: string) {
    this.out.write(`${label}: started (${total} ${unit})\n`);
  }
  increment(by = 1): void { this.update(this.value + by); }
  update(value: number): void {
    this.value = value;
    const now = Date.now();
    if (now - this.lastPrint > 5000) {
      this.lastPrint = now;
      this.out.write(`${this.label}: ${this.value}/${this.total} ${this.unit} (${this.rate()}/s)\n`);
    }
  }
  setTotal(total: number): void { this.total = total; }
  stop(): void {
    this.out.write(`${this.label}: done, ${this.value} ${this.unit} in ${((Date.now() - this.started) / 1000).toFixed(1)} s (${this.rate()}/s)\n`);
  }
  private rate(): number { return Math.round(this.value / Math.max(0.001, (Date.now() - this.started) / 1000)); }
}
