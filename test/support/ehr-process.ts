/**
 * Runs the built `leader ehr` (dist) as a child process, as a user would, and waits until it
 * listens. The EHR loads oidc-provider (ESM-only) with a real import(), which jest's module system
 * cannot host, so the e2e tests talk to it over HTTP only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { leaderCliPath, repoRoot } from './leader-cli';

export interface EhrProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  fhirBase: string;
  stderr(): string;
  stop(): Promise<void>;
}

export function startEhrProcess(args: string[], timeoutMs = 120_000): Promise<EhrProcess> {
  const child: ChildProcess = spawn(process.execPath, [leaderCliPath(), 'ehr', '--port', '0', ...args], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const stop = () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`leader ehr did not start within ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      const base = /FHIR R4 base\s+(http:\/\/\S+\/fhir)/.exec(log)?.[1];
      if (base && log.includes('Ctrl-C stops it')) {
        clearTimeout(timer);
        resolve({ url: base.replace(/\/fhir$/, ''), fhirBase: base, stderr: () => log, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`leader ehr exited with ${code} before listening:\n${log}`));
    });
  });
}
