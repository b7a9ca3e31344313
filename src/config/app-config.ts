import { packageRoot } from '../common/package-root';
import * as path from 'node:path';
import { existsSync } from 'node:fs';

/**
 * The service configuration: one typed object, read from the environment once and validated.
 * This file is the only reader of process.env for the HTTP service.
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
  /** Days an ended medication still counts as current for the cards (LEADER_CURRENT_MEDS_DAYS, default 90). */
  currentMedicationDays: number;
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

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Read and validate the configuration; every problem is listed as `NAME=value (why)`. */
export function loadAppConfig(env: Env = process.env): AppConfig {
  const problems: string[] = [];
  const root = repoRoot();
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return def;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name}=${raw} (must be an integer ${min}..${max})`);
      return def;
    }
    return n;
  };
  const bool = (name: string): boolean => {
    const raw = str(name);
    if (raw === undefined) return false;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    problems.push(`${name}=${raw} (must be true or false)`);
    return false;
  };
  const dirPath = (name: string, def: string): string => {
    const raw = str(name);
    return raw === undefined ? path.resolve(root, def) : path.resolve(raw);
  };

  const authDisabled = bool('CDS_AUTH_DISABLED');
  const clientsFile = str('CDS_CLIENTS_FILE');
  if (!authDisabled && clientsFile === undefined) {
    problems.push('CDS_CLIENTS_FILE= (required: a JSON file of trusted CDS clients; or set CDS_AUTH_DISABLED=true for a local demo)');
  } else if (clientsFile !== undefined && !existsSync(clientsFile)) {
    problems.push(`CDS_CLIENTS_FILE=${clientsFile} (file not found)`);
  }

  let publicUrl = str('CDS_PUBLIC_URL');
  if (publicUrl !== undefined) {
    try {
      const u = new URL(publicUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash) throw new Error('query');
      publicUrl = publicUrl.replace(/\/+$/, '');
    } catch {
      problems.push(`CDS_PUBLIC_URL=${publicUrl} (must be an absolute http(s) base URL without query, e.g. https://cds.example.org)`);
      publicUrl = undefined;
    }
  }

  const corsRaw = str('CDS_CORS_ORIGINS') ?? '*';
  let corsOrigins: '*' | string[] = '*';
  if (corsRaw !== '*') {
    corsOrigins = corsRaw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const o of corsOrigins) {
      if (!/^https?:\/\/[^/\s]+$/.test(o)) problems.push(`CDS_CORS_ORIGINS=${corsRaw} (each origin must look like http(s)://host[:port])`);
    }
  }

  const bodyLimit = str('CDS_BODY_LIMIT') ?? '20mb';
  if (!/^\d+(kb|mb)$/i.test(bodyLimit)) problems.push(`CDS_BODY_LIMIT=${bodyLimit} (must look like 500kb or 20mb)`);

  const logLevel = (str('LOG_LEVEL') ?? 'info') as AppConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${logLevel} (must be one of ${LOG_LEVELS.join(', ')})`);

  const config: AppConfig = {
    port: int('PORT', 3000, 0, 65535),
    host: str('HOST') ?? '0.0.0.0',
    modelDir: dirPath('LEADER_MODEL_DIR', 'models/default'),
    dataDir: dirPath('LEADER_DATA_DIR', 'var'),
    fhirMappingsDir: dirPath('LEADER_FHIR_MAPPINGS', 'fhir-mappings'),
    cdsHooksFile: dirPath('CDS_HOOKS_FILE', 'cds-hooks.json'),
    clientsFile: clientsFile === undefined ? undefined : path.resolve(clientsFile),
    authDisabled,
    publicUrl,
    jwtClockSkewSeconds: int('CDS_JWT_CLOCK_SKEW_S', 30, 0, 300),
    corsOrigins,
    fhirTimeoutMs: int('FHIR_TIMEOUT_MS', 5000, 100, 60000),
    bodyLimit,
    currentMedicationDays: int('LEADER_CURRENT_MEDS_DAYS', 90, 0, 3650),
    logLevel,
  };
  if (problems.length > 0) throw new ConfigError(`Invalid environment variables: ${problems.join('; ')}`);
  return config;
}
