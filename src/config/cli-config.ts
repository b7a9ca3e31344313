import * as path from 'node:path';
import { IsIn, IsNotEmpty, IsOptional, IsString } from 'class-validator';
import { packageRoot } from '../common/package-root';
import { CliError } from '../common/cli-error';
import { environmentProblems, type Env } from './environment';

/**
 * The `leader` CLI's configuration: read from the environment once per process, validated with
 * class-validator. Besides src/config, only src/cli reads process.env, and only through here.
 */
export interface CliConfig {
  /** ../shared/data beside the repository (LEADER_SHARED_DATA overrides). */
  sharedDataDir: string;
  /** Python with Debian's torch for the trainer (LEADER_PYTHON, default /usr/bin/python3). */
  python: string;
  /** Terminology folder (LEADER_FHIR_MAPPINGS, default fhir-mappings/ at the repository root). */
  fhirMappingsDir: string;
  /** Service descriptors, for demo requests (CDS_HOOKS_FILE, default cds-hooks.json at the repository root). */
  cdsHooksFile: string;
  /** LEADER_DEBUG=1|true prints the stack of an unexpected error after its one line. */
  debug: boolean;
  /** The value of a variable an option names (`--token-env NAME`, `--api-key-env NAME`): secrets stay out of argv. */
  secret(name: string): string | undefined;
}

/** The variables the CLI reads, as class-validator checks them. */
export class CliEnvironment {
  @IsOptional() @IsString() @IsNotEmpty() LEADER_SHARED_DATA?: string;
  @IsOptional() @IsString() @IsNotEmpty() LEADER_PYTHON?: string;
  @IsOptional() @IsString() @IsNotEmpty() LEADER_FHIR_MAPPINGS?: string;
  @IsOptional() @IsString() @IsNotEmpty() CDS_HOOKS_FILE?: string;
  @IsOptional() @IsIn(['0', '1', 'false', 'true'], { message: 'must be 1, true, 0 or false' }) LEADER_DEBUG?: string;
}

/** Read and validate the CLI configuration from `env`; a problem is one CliError line naming `NAME=value (why)`. */
export function loadCliConfig(env: Env = process.env): CliConfig {
  const problems = environmentProblems(CliEnvironment, env);
  if (problems.length > 0) throw new CliError(`invalid environment: ${problems.join('; ')}`);
  const value = (name: keyof CliEnvironment): string | undefined => env[name]?.trim() || undefined;
  const root = packageRoot();
  return {
    sharedDataDir: path.resolve(value('LEADER_SHARED_DATA') ?? path.join(root, '..', 'shared', 'data')),
    python: value('LEADER_PYTHON') ?? '/usr/bin/python3',
    fhirMappingsDir: path.resolve(value('LEADER_FHIR_MAPPINGS') ?? path.join(root, 'fhir-mappings')),
    cdsHooksFile: path.resolve(value('CDS_HOOKS_FILE') ?? path.join(root, 'cds-hooks.json')),
    debug: value('LEADER_DEBUG') === '1' || value('LEADER_DEBUG') === 'true',
    secret: (name) => env[name],
  };
}

let current: CliConfig | undefined;

/** This process's CLI configuration, read on first use. */
export function cliConfig(): CliConfig {
  current ??= loadCliConfig();
  return current;
}
