/**
 * Runs the built service (`node dist/src/main.js`, as `npm run start:prod` does) as a child process,
 * so a test can `kill -9` it and start it again on the same data folder.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { repoRoot } from './leader-cli';

export interface ServiceProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  log(): string;
  /** SIGKILL: no shutdown hooks, no flush. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export function startServiceProcess(env: Record<string, string>, timeoutMs = 180_000): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, [path.join(repoRoot, 'dist', 'src', 'main.js')], {
    cwd: repoRoot, env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (s: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(s);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void signal('SIGKILL');
      reject(new Error(`the service did not start within ${timeoutMs} ms:\n${log.slice(-4000)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const port = /"port":(\d+),[^\n]*"msg":"leader-cds listening"/.exec(log)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${port}`, log: () => log, kill9: () => signal('SIGKILL'), stop: () => signal('SIGTERM') });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code} before listening:\n${log.slice(-4000)}`));
    });
  });
}
