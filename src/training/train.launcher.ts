/**
 * Runs the Python trainer (`python3 -m trainer.leader_trainer.train`) as a child process and turns
 * its JSON-lines stdout (events start, step, epoch, early_stop, export, done, error; trainer/README.md)
 * into typed callbacks. stderr lines are passed through as they come.
 */
import { packageRoot } from '../common/package-root';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

export type TrainerEvent =
  | { event: 'start'; epochs: number; start_epoch: number; train: number; val: number; test: number; steps_per_epoch: number; out: string }
  | { event: 'step'; epoch: number; step: number; steps: number; loss: number; seconds: number }
  | { event: 'epoch'; epoch: number; epochs: number; train_loss: number; val_prauc: number | null; best_epoch: number; seconds: number }
  | { event: 'early_stop'; epoch: number; best_epoch: number; patience: number }
  | { event: 'export'; onnx: string; opset: number; sha256: string }
  | { event: 'done'; out: string; best_epoch: number; epochs_run: number; threshold: number; val_prauc: number | null; metrics: Record<string, number> | null; seconds: number }
  | { event: 'error'; message: string };

export interface TrainerRunOptions {
  dataset: string;
  out: string;
  teacherFeatures?: string;
  epochs?: number;
  resume?: boolean;
  /** Further trainer flags, passed unchanged (e.g. ['--seed', '42', '--name', 'x']). */
  extraArgs?: string[];
  /** Python interpreter with torch (the CLI passes LEADER_PYTHON from its config; Debian's /usr/bin/python3 has torch). */
  python: string;
  /** Folder holding trainer/ (default: the package root). */
  cwd?: string;
  onEvent?: (e: TrainerEvent) => void;
  onStderr?: (line: string) => void;
}

export interface TrainerRunResult {
  exitCode: number;
  done?: Extract<TrainerEvent, { event: 'done' }>;
  /** The trainer's last error: its `error` event, else its last stderr line. */
  lastError?: string;
}

/** The package root (folder with package.json and trainer/), from src/ or dist/src/. */

export function trainerArgs(o: TrainerRunOptions): string[] {
  const args = ['-m', 'trainer.leader_trainer.train', '--dataset', path.resolve(o.dataset), '--out', path.resolve(o.out)];
  if (o.teacherFeatures) args.push('--teacher-features', path.resolve(o.teacherFeatures));
  if (o.epochs !== undefined) args.push('--epochs', String(o.epochs));
  if (o.resume) args.push('--resume');
  return [...args, ...(o.extraArgs ?? [])];
}

/** Parse one stdout line; non-JSON lines (stray prints) are returned as null. */
export function parseTrainerLine(line: string): TrainerEvent | null {
  const t = line.trim();
  if (!t.startsWith('{')) return null;
  try {
    const obj = JSON.parse(t) as { event?: unknown };
    return typeof obj.event === 'string' ? (obj as TrainerEvent) : null;
  } catch {
    return null;
  }
}

export function runTrainer(o: TrainerRunOptions): Promise<TrainerRunResult> {
  return new Promise((resolve, reject) => {
    const python = o.python;
    // -u: unbuffered, so progress lines arrive as the trainer prints them.
    const child = spawn(python, ['-u', ...trainerArgs(o)], {
      cwd: o.cwd ?? packageRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result: TrainerRunResult = { exitCode: 1 };
    let lastStderr: string | undefined;
    const stdoutDone = new Promise<void>((r) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const e = parseTrainerLine(line);
        if (!e) {
          if (line.trim()) o.onStderr?.(line);
          return;
        }
        if (e.event === 'done') result.done = e;
        if (e.event === 'error') result.lastError = e.message;
        o.onEvent?.(e);
      }).on('close', r);
    });
    const stderrDone = new Promise<void>((r) => {
      createInterface({ input: child.stderr }).on('line', (line) => {
        if (line.trim()) lastStderr = line.trim();
        o.onStderr?.(line);
      }).on('close', r);
    });
    // Ctrl-C in a terminal reaches the child through the process group and it exits 130 keeping its
    // checkpoint; a SIGINT sent to this process alone is passed on if the child is still running.
    const forward = () => {
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      }, 2000).unref();
    };
    process.once('SIGINT', forward);
    child.on('error', (e) => {
      process.removeListener('SIGINT', forward);
      reject(new Error(`cannot start the trainer with ${python} (${(e as NodeJS.ErrnoException).code ?? e.message}); set LEADER_PYTHON to a python3 with torch`));
    });
    child.on('close', async (code, signal) => {
      process.removeListener('SIGINT', forward);
      await Promise.all([stdoutDone, stderrDone]);
      result.exitCode = code ?? (signal ? 128 : 1);
      if (result.exitCode !== 0 && !result.lastError) result.lastError = lastStderr ?? `trainer exited with ${signal ?? code}`;
      resolve(result);
    });
  });
}
