/**
 * Runs the built `leader` CLI (dist) as a child process, asynchronously, so a test can serve HTTP
 * from its own process while the CLI talks to it. LEADER_CLI overrides the script path.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

export function leaderCliPath(): string {
  const cli = process.env.LEADER_CLI ?? path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first (or set LEADER_CLI)`);
  return cli;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runLeader(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 480_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [leaderCliPath(), ...args], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      });
  });
}
