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
  /** Public base URL the EHR calls (the first of CDS_PUBLIC_URL, e.g. https://cds.example.org): card links. */
  publicUrl?: string;
  /**
   * Every public base URL the service is reached at (CDS_PUBLIC_URL, a comma list); JWT aud must be
   * one of them + the path. Required when auth is on: nothing is derived from the request's Host.
   */
  publicUrls: string[];
  /** Longest accepted JWT lifetime exp - iat, seconds (CDS_JWT_MAX_LIFETIME_S, default 600). */
  jwtMaxLifetimeSeconds: number;
  /** Unexpired jti remembered per trusted issuer (CDS_JTI_CACHE_PER_ISSUER, default 100000); beyond it that issuer's new tokens get 401 until some expire. */
  jtiCachePerIssuer: number;
  /** Whole-request limit for slow clients, ms (CDS_REQUEST_TIMEOUT_MS, default 30000; headers get a third of it, at most 10 s). */
  requestTimeoutMs: number;
  /** Largest FHIR server response, bytes, on the wire and decompressed (FHIR_MAX_RESPONSE_BYTES, default 20mb). */
  fhirMaxResponseBytes: number;
  /** Most search pages followed per prefetch key (FHIR_MAX_PAGES, default 50). */
  fhirMaxPages: number;
  /** One deadline for all FHIR server requests of a hook call, ms (FHIR_DEADLINE_MS, default 15000). */
  fhirDeadlineMs: number;
  /** Most resources per prefetch key, sent or fetched (CDS_MAX_RESOURCES_PER_KEY, default 50000): beyond it 413. */
  maxResourcesPerKey: number;
  /** Most visits in a patient's timeline (CDS_MAX_VISITS, default 5000): beyond it 422. */
  maxVisits: number;
  /** Most distinct diagnosis + procedure codes in one visit (CDS_MAX_CODES_PER_VISIT, default 2000): beyond it 422. */
  maxCodesPerVisit: number;
  /** Most Medications one order's description may visit, ingredients followed (CDS_MAX_MEDICATION_PARTS, default 32): beyond it 422. */
  maxMedicationParts: number;
  /** Most feedback items in one post (CDS_FEEDBACK_MAX_ITEMS, default 100): beyond it 413. */
  feedbackMaxItems: number;
  /** Feedback keys remembered for idempotency, newest first (CDS_FEEDBACK_DEDUPE_WINDOW, default 200000). */
  feedbackDedupeWindow: number;
  /** Allowed clock skew for exp/iat/nbf, seconds (CDS_JWT_CLOCK_SKEW_S, default 30). */
  jwtClockSkewSeconds: number;
  /** CORS allowed origins (CDS_CORS_ORIGINS: `*` or a comma list; default `*`). */
  corsOrigins: '*' | string[];
  /** Timeout per FHIR server request while resolving prefetch (FHIR_TIMEOUT_MS, default 5000). */
  fhirTimeoutMs: number;
  /** Largest accepted JSON body, decompressed (CDS_BODY_LIMIT, default 20mb): prefetch bundles are large. */
  bodyLimit: string;
  bodyLimitBytes: number;
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

  const publicUrlRaw = str('CDS_PUBLIC_URL');
  const publicUrls: string[] = [];
  for (const one of (publicUrlRaw ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    try {
      const u = new URL(one);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash || u.username || u.password) throw new Error('query');
      publicUrls.push(one.replace(/\/+$/, ''));
    } catch {
      problems.push(`CDS_PUBLIC_URL=${publicUrlRaw} (each entry must be an absolute http(s) base URL without query, e.g. https://cds.example.org)`);
    }
  }
  if (!authDisabled && publicUrlRaw === undefined) {
    problems.push('CDS_PUBLIC_URL= (required when auth is on: the base URL(s) EHRs call, checked against the JWT aud; the Host header is never trusted)');
  }
  const bytes = (name: string, def: string): number => {
    const raw = str(name) ?? def;
    const m = /^(\d+)(kb|mb)$/i.exec(raw);
    if (!m) {
      problems.push(`${name}=${raw} (must look like 500kb or 20mb)`);
      return 0;
    }
    return Number(m[1]) * (m[2].toLowerCase() === 'kb' ? 1024 : 1024 * 1024);
  };

  const corsRaw = str('CDS_CORS_ORIGINS') ?? '*';
  let corsOrigins: '*' | string[] = '*';
  if (corsRaw !== '*') {
    corsOrigins = corsRaw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    for (const o of corsOrigins) {
      if (!/^https?:\/\/[^/\s]+$/.test(o)) problems.push(`CDS_CORS_ORIGINS=${corsRaw} (each origin must look like http(s)://host[:port])`);
    }
  }

  const bodyLimit = str('CDS_BODY_LIMIT') ?? '20mb';
  const bodyLimitBytes = bytes('CDS_BODY_LIMIT', '20mb');

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
    ...(publicUrls.length > 0 ? { publicUrl: publicUrls[0] } : {}),
    publicUrls,
    jwtClockSkewSeconds: int('CDS_JWT_CLOCK_SKEW_S', 30, 0, 300),
    jwtMaxLifetimeSeconds: int('CDS_JWT_MAX_LIFETIME_S', 600, 10, 86_400),
    jtiCachePerIssuer: int('CDS_JTI_CACHE_PER_ISSUER', 100_000, 100, 10_000_000),
    requestTimeoutMs: int('CDS_REQUEST_TIMEOUT_MS', 30_000, 1000, 600_000),
    fhirMaxResponseBytes: bytes('FHIR_MAX_RESPONSE_BYTES', '20mb'),
    fhirMaxPages: int('FHIR_MAX_PAGES', 50, 1, 10_000),
    fhirDeadlineMs: int('FHIR_DEADLINE_MS', 15_000, 100, 300_000),
    maxResourcesPerKey: int('CDS_MAX_RESOURCES_PER_KEY', 50_000, 1, 10_000_000),
    maxVisits: int('CDS_MAX_VISITS', 5000, 1, 1_000_000),
    maxCodesPerVisit: int('CDS_MAX_CODES_PER_VISIT', 2000, 1, 1_000_000),
    maxMedicationParts: int('CDS_MAX_MEDICATION_PARTS', 32, 1, 10_000),
    feedbackMaxItems: int('CDS_FEEDBACK_MAX_ITEMS', 100, 1, 100_000),
    feedbackDedupeWindow: int('CDS_FEEDBACK_DEDUPE_WINDOW', 200_000, 1000, 100_000_000),
    corsOrigins,
    fhirTimeoutMs: int('FHIR_TIMEOUT_MS', 5000, 100, 60000),
    bodyLimit,
    bodyLimitBytes,
    currentMedicationDays: int('LEADER_CURRENT_MEDS_DAYS', 90, 0, 3650),
    logLevel,
  };
  if (problems.length > 0) throw new ConfigError(`Invalid environment variables: ${problems.join('; ')}`);
  return config;
}
