import { packageRoot } from '../common/package-root';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, ValidateBy, ValidateIf } from 'class-validator';
import { declaredVariables, environmentProblems, IsIntegerString, type Env } from './environment';

/**
 * The service configuration: one typed object, read from the environment once and validated with
 * class-validator (AppEnvironment). This file is the only reader of process.env for the HTTP service.
 */
export interface AppConfig {
  /** HTTP port (PORT, default 3000). */
  port: number;
  /** Host to bind (HOST, default 0.0.0.0). */
  host: string;
  /** Model folder with manifest.json, model.onnx, vocab.json (LEADER_MODEL_DIR, default models/default). */
  modelDir: string;
  /** Durable service data, e.g. feedback.jsonl (LEADER_DATA_DIR, default var/ at the repository root). */
  dataDir: string;
  /** Terminology folder (LEADER_FHIR_MAPPINGS, default fhir-mappings/ at the repository root). */
  fhirMappingsDir: string;
  /** Discovery descriptors (CDS_HOOKS_FILE, default cds-hooks.json at the repository root). */
  cdsHooksFile: string;
  /** Trusted CDS clients (CDS_CLIENTS_FILE); required unless authDisabled. */
  clientsFile?: string;
  /** CDS_AUTH_DISABLED=true turns JWT checking off (local demo only). */
  authDisabled: boolean;
  /** Public base URL the EHR calls (CDS_PUBLIC_URL, e.g. https://cds.example.org); JWT aud = this + path. */
  publicUrl?: string;
  /** Allowed clock skew for exp/iat/nbf, seconds (CDS_JWT_CLOCK_SKEW_S, default 30). */
  jwtClockSkewSeconds: number;
  /** CORS allowed origins (CDS_CORS_ORIGINS: `*` or a comma list; default `*`). */
  corsOrigins: '*' | string[];
  /** Timeout per FHIR server request while resolving prefetch (FHIR_TIMEOUT_MS, default 5000). */
  fhirTimeoutMs: number;
  /** Largest accepted JSON body (CDS_BODY_LIMIT, default 20mb): prefetch bundles are large. */
  bodyLimit: string;
  /** After SIGTERM, how long /health/ready answers 503 while requests are still served, before closing (SHUTDOWN_DRAIN_MS, default 5000). */
  shutdownDrainMs: number;
  /** pino level (LOG_LEVEL, default info). */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The repository root: the nearest folder above this file holding package.json (works from src/ and dist/). */
export function repoRoot(): string {
  return packageRoot();
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const ORIGIN = /^https?:\/\/[^/\s,]+$/;

/** The variables the service reads (trimmed; blank counts as unset), as class-validator checks them. */
export class AppEnvironment {
  @IsOptional() @IsIntegerString(0, 65535) PORT?: string;
  @IsOptional() @IsString() HOST?: string;
  @IsOptional() @IsString() LEADER_MODEL_DIR?: string;
  @IsOptional() @IsString() LEADER_DATA_DIR?: string;
  @IsOptional() @IsString() LEADER_FHIR_MAPPINGS?: string;
  @IsOptional() @IsString() CDS_HOOKS_FILE?: string;

  @ValidateIf((o: AppEnvironment) => o.CDS_AUTH_DISABLED !== 'true' || o.CDS_CLIENTS_FILE !== undefined)
  // Decorators register bottom-up and the first failure is reported: "required" before "file not found".
  @ValidateBy({ name: 'fileExists', validator: { validate: (v: unknown) => typeof v === 'string' && existsSync(v), defaultMessage: () => 'file not found' } })
  @IsNotEmpty({ message: 'required: a JSON file of trusted CDS clients; or set CDS_AUTH_DISABLED=true for a local demo' })
  CDS_CLIENTS_FILE?: string;

  @IsOptional() @IsIn(['true', 'false'], { message: 'must be true or false' }) CDS_AUTH_DISABLED?: string;

  @IsOptional()
  @ValidateBy({ name: 'isBaseUrl', validator: { validate: isHttpBaseUrl, defaultMessage: () => 'must be an absolute http(s) base URL without query, e.g. https://cds.example.org' } })
  CDS_PUBLIC_URL?: string;

  @IsOptional() @IsIntegerString(0, 300) CDS_JWT_CLOCK_SKEW_S?: string;

  @IsOptional()
  @ValidateBy({ name: 'isOriginList', validator: { validate: (v: unknown) => typeof v === 'string' && (v === '*' || originList(v).every((o) => ORIGIN.test(o))), defaultMessage: () => 'each origin must look like http(s)://host[:port]' } })
  CDS_CORS_ORIGINS?: string;

  @IsOptional() @Matches(/^\d+(kb|mb)$/i, { message: 'must look like 500kb or 20mb' }) CDS_BODY_LIMIT?: string;
  @IsOptional() @IsIntegerString(100, 60000) FHIR_TIMEOUT_MS?: string;
  @IsOptional() @IsIntegerString(0, 120000) SHUTDOWN_DRAIN_MS?: string;
  @IsOptional() @IsIn(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }) LOG_LEVEL?: string;
}

/** Read and validate the configuration; every problem is listed as `NAME=value (why)`. */
export function loadAppConfig(env: Env = process.env): AppConfig {
  const problems = environmentProblems(AppEnvironment, env);
  if (problems.length > 0) throw new ConfigError(`Invalid environment variables: ${problems.join('; ')}`);
  const v = declaredVariables(AppEnvironment, env);
  const root = repoRoot();
  const dirPath = (raw: string | undefined, def: string): string => (raw === undefined ? path.resolve(root, def) : path.resolve(raw));
  const int = (raw: string | undefined, def: number): number => (raw === undefined ? def : Number(raw));

  const config: AppConfig = {
    port: int(v.PORT, 3000),
    host: v.HOST ?? '0.0.0.0',
    modelDir: dirPath(v.LEADER_MODEL_DIR, 'models/default'),
    dataDir: dirPath(v.LEADER_DATA_DIR, 'var'),
    fhirMappingsDir: dirPath(v.LEADER_FHIR_MAPPINGS, 'fhir-mappings'),
    cdsHooksFile: dirPath(v.CDS_HOOKS_FILE, 'cds-hooks.json'),
    clientsFile: v.CDS_CLIENTS_FILE === undefined ? undefined : path.resolve(v.CDS_CLIENTS_FILE),
    authDisabled: v.CDS_AUTH_DISABLED === 'true',
    publicUrl: v.CDS_PUBLIC_URL?.replace(/\/+$/, ''),
    jwtClockSkewSeconds: int(v.CDS_JWT_CLOCK_SKEW_S, 30),
    corsOrigins: v.CDS_CORS_ORIGINS === undefined || v.CDS_CORS_ORIGINS === '*' ? '*' : originList(v.CDS_CORS_ORIGINS),
    fhirTimeoutMs: int(v.FHIR_TIMEOUT_MS, 5000),
    bodyLimit: v.CDS_BODY_LIMIT ?? '20mb',
    shutdownDrainMs: int(v.SHUTDOWN_DRAIN_MS, 5000),
    logLevel: (v.LOG_LEVEL ?? 'info') as AppConfig['logLevel'],
  };
  return config;
}

function isHttpBaseUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.search && !u.hash && !v.includes('?') && !v.includes('#');
  } catch {
    return false;
  }
}

function originList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
