import { packageRoot } from '../common/package-root';
import * as path from 'node:path';
import { existsSync } from 'node:fs';
import { IsIn, IsNotEmpty, IsOptional, IsString, Matches, ValidateBy, ValidateIf } from 'class-validator';
import { declaredVariables, environmentProblems, IsIntegerString, type Env } from './environment';

/**
 * The service configuration: one typed object, read from the environment once and validated with
 * class-validator (AppEnvironment). This file is the only reader of process.env for the HTTP service.
 */
/** What the subscriber asks the FHIR server for unless SUBSCRIPTIONS_SCOPE says otherwise. */
export const DEFAULT_SUBSCRIPTIONS_SCOPE = 'system/*.rs system/*.c system/*.u system/Subscription.d';

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
  /**
   * FHIR servers the SMART app and `/api/v1/recommendations` may read through with the user's token
   * (SMART_FHIR_SERVERS, a comma list of FHIR bases; default none: the API answers 400 to every server).
   */
  smartFhirServers: string[];
  /** The SMART app's client id at the EHR (SMART_CLIENT_ID, default leader-cds-medication-review). */
  smartClientId: string;
  /** CORS allowed origins (CDS_CORS_ORIGINS: `*` or a comma list; default `*`). */
  corsOrigins: '*' | string[];
  /** Timeout per FHIR server request while resolving prefetch (FHIR_TIMEOUT_MS, default 5000). */
  fhirTimeoutMs: number;
  /** Largest accepted JSON body, decompressed (CDS_BODY_LIMIT, default 20mb): prefetch bundles are large. */
  bodyLimit: string;
  /** CDS_BODY_LIMIT in bytes. */
  bodyLimitBytes: number;
  /** Days an ended medication still counts as current for the cards (LEADER_CURRENT_MEDS_DAYS, default 90). */
  currentMedicationDays: number;
  /** After SIGTERM, how long /health/ready answers 503 while requests are still served, before closing (SHUTDOWN_DRAIN_MS, default 5000). */
  shutdownDrainMs: number;
  /** FHIR Subscriptions: the subscriber's queue and its backend-services client (SUBSCRIPTIONS_*). */
  subscriptions: SubscriptionSettings;
  /** pino level (LOG_LEVEL, default info). */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/**
 * The FHIR Subscriptions subscriber and `leader subscribe` (read by both through loadSubscriptionSettings):
 * where the queue lives, and the SMART Backend Services client that reads patients and writes back.
 */
export interface SubscriptionSettings {
  /** The SQLite queue (LEADER_DATA_DIR/subscriptions.sqlite). */
  databaseFile: string;
  /** Backend-services client id at the FHIR server's authorization server (SUBSCRIPTIONS_CLIENT_ID). */
  clientId?: string;
  /** A private JWK (or a JWKS holding one) with `kid` and `alg` RS384 or ES384 (SUBSCRIPTIONS_PRIVATE_KEY_FILE). */
  privateKeyFile?: string;
  /** Token endpoint (SUBSCRIPTIONS_TOKEN_URL); default: the FHIR server's .well-known/smart-configuration. */
  tokenUrl?: string;
  /** Scopes asked for (SUBSCRIPTIONS_SCOPE, default `system/*.rs system/*.c system/*.u system/Subscription.d`). */
  scope: string;
  /** Attempts before an event becomes a dead letter (SUBSCRIPTIONS_MAX_ATTEMPTS, default 8). */
  maxAttempts: number;
  /** First retry delay, doubled per attempt up to 10 minutes (SUBSCRIPTIONS_RETRY_BASE_MS, default 2000). */
  retryBaseMs: number;
  /** How often the worker checks heartbeats and looks for due jobs when idle, ms (SUBSCRIPTIONS_POLL_MS, default 1000). */
  pollMs: number;
}

export class SubscriptionEnvironment {
  @IsOptional() @IsString() LEADER_DATA_DIR?: string;
  @IsOptional() @Matches(/^[A-Za-z0-9._~:/-]{1,256}$/, { message: 'must be a client id (letters, digits, . _ ~ : / -)' }) SUBSCRIPTIONS_CLIENT_ID?: string;
  @IsOptional()
  @ValidateBy({ name: 'fileExists', validator: { validate: (v: unknown) => typeof v === 'string' && existsSync(v), defaultMessage: () => 'file not found' } })
  SUBSCRIPTIONS_PRIVATE_KEY_FILE?: string;
  @IsOptional()
  @ValidateBy({ name: 'isUrl', validator: { validate: isHttpBaseUrl, defaultMessage: () => 'must be an absolute http(s) URL without query' } })
  SUBSCRIPTIONS_TOKEN_URL?: string;
  @IsOptional() @IsString() SUBSCRIPTIONS_SCOPE?: string;
  @IsOptional() @IsIntegerString(1, 100) SUBSCRIPTIONS_MAX_ATTEMPTS?: string;
  @IsOptional() @IsIntegerString(10, 3_600_000) SUBSCRIPTIONS_RETRY_BASE_MS?: string;
  @IsOptional() @IsIntegerString(10, 60_000) SUBSCRIPTIONS_POLL_MS?: string;
}

/** The subscriber's settings (also `leader subscribe`'s); a client id without a key file (or the reverse) is refused. */
export function loadSubscriptionSettings(env: Env = process.env): SubscriptionSettings {
  const problems = subscriptionProblems(env);
  if (problems.length > 0) throw new ConfigError(`Invalid environment variables: ${problems.join('; ')}`);
  const v = declaredVariables(SubscriptionEnvironment, env);
  const dataDir = v.LEADER_DATA_DIR === undefined ? path.resolve(repoRoot(), 'var') : path.resolve(v.LEADER_DATA_DIR);
  return {
    databaseFile: path.join(dataDir, 'subscriptions.sqlite'),
    ...(v.SUBSCRIPTIONS_CLIENT_ID ? { clientId: v.SUBSCRIPTIONS_CLIENT_ID } : {}),
    ...(v.SUBSCRIPTIONS_PRIVATE_KEY_FILE ? { privateKeyFile: path.resolve(v.SUBSCRIPTIONS_PRIVATE_KEY_FILE) } : {}),
    ...(v.SUBSCRIPTIONS_TOKEN_URL ? { tokenUrl: v.SUBSCRIPTIONS_TOKEN_URL } : {}),
    scope: v.SUBSCRIPTIONS_SCOPE ?? DEFAULT_SUBSCRIPTIONS_SCOPE,
    maxAttempts: v.SUBSCRIPTIONS_MAX_ATTEMPTS === undefined ? 8 : Number(v.SUBSCRIPTIONS_MAX_ATTEMPTS),
    retryBaseMs: v.SUBSCRIPTIONS_RETRY_BASE_MS === undefined ? 2000 : Number(v.SUBSCRIPTIONS_RETRY_BASE_MS),
    pollMs: v.SUBSCRIPTIONS_POLL_MS === undefined ? 1000 : Number(v.SUBSCRIPTIONS_POLL_MS),
  };
}

function subscriptionProblems(env: Env): string[] {
  const problems = environmentProblems(SubscriptionEnvironment, env).filter((p) => !p.startsWith('LEADER_DATA_DIR='));
  const v = declaredVariables(SubscriptionEnvironment, env);
  if ((v.SUBSCRIPTIONS_CLIENT_ID === undefined) !== (v.SUBSCRIPTIONS_PRIVATE_KEY_FILE === undefined)) {
    problems.push('SUBSCRIPTIONS_CLIENT_ID and SUBSCRIPTIONS_PRIVATE_KEY_FILE go together (a backend-services client needs both)');
  }
  return problems;
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

  // Required when auth is on: the JWT aud is checked against it, and nothing is derived from the Host header.
  @ValidateIf((o: AppEnvironment) => o.CDS_AUTH_DISABLED !== 'true' || o.CDS_PUBLIC_URL !== undefined)
  @ValidateBy({ name: 'isBaseUrlList', validator: { validate: (v: unknown) => typeof v === 'string' && urlList(v).length > 0 && urlList(v).every(isHttpBaseUrl), defaultMessage: () => 'each entry must be an absolute http(s) base URL without query, e.g. https://cds.example.org' } })
  @IsNotEmpty({ message: 'required when auth is on: the base URL(s) EHRs call, checked against the JWT aud; the Host header is never trusted' })
  CDS_PUBLIC_URL?: string;

  // The app API reads patients with the user's own token: only through these FHIR servers (no request to arbitrary URLs).
  @IsOptional()
  @ValidateBy({ name: 'isBaseUrlList', validator: { validate: (v: unknown) => typeof v === 'string' && urlList(v).every(isHttpBaseUrl), defaultMessage: () => 'each entry must be an absolute http(s) FHIR base URL without query, e.g. https://ehr.example.org/fhir' } })
  SMART_FHIR_SERVERS?: string;
  @IsOptional() @Matches(/^[A-Za-z0-9._~-]{1,128}$/, { message: 'must be a client id (letters, digits, . _ ~ -)' }) SMART_CLIENT_ID?: string;

  @IsOptional() @IsIntegerString(0, 300) CDS_JWT_CLOCK_SKEW_S?: string;
  @IsOptional() @IsIntegerString(10, 86_400) CDS_JWT_MAX_LIFETIME_S?: string;
  @IsOptional() @IsIntegerString(100, 10_000_000) CDS_JTI_CACHE_PER_ISSUER?: string;
  @IsOptional() @IsIntegerString(1000, 600_000) CDS_REQUEST_TIMEOUT_MS?: string;
  @IsOptional() @Matches(/^\d+(kb|mb)$/i, { message: 'must look like 500kb or 20mb' }) FHIR_MAX_RESPONSE_BYTES?: string;
  @IsOptional() @IsIntegerString(1, 10_000) FHIR_MAX_PAGES?: string;
  @IsOptional() @IsIntegerString(100, 300_000) FHIR_DEADLINE_MS?: string;
  @IsOptional() @IsIntegerString(1, 10_000_000) CDS_MAX_RESOURCES_PER_KEY?: string;
  @IsOptional() @IsIntegerString(1, 1_000_000) CDS_MAX_VISITS?: string;
  @IsOptional() @IsIntegerString(1, 1_000_000) CDS_MAX_CODES_PER_VISIT?: string;
  @IsOptional() @IsIntegerString(1, 10_000) CDS_MAX_MEDICATION_PARTS?: string;
  @IsOptional() @IsIntegerString(1, 100_000) CDS_FEEDBACK_MAX_ITEMS?: string;
  @IsOptional() @IsIntegerString(1000, 100_000_000) CDS_FEEDBACK_DEDUPE_WINDOW?: string;
  @IsOptional() @IsIntegerString(0, 3650) LEADER_CURRENT_MEDS_DAYS?: string;

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
  const problems = [...environmentProblems(AppEnvironment, env), ...subscriptionProblems(env)];
  if (problems.length > 0) throw new ConfigError(`Invalid environment variables: ${problems.join('; ')}`);
  const v = declaredVariables(AppEnvironment, env);
  const root = repoRoot();
  const dirPath = (raw: string | undefined, def: string): string => (raw === undefined ? path.resolve(root, def) : path.resolve(raw));
  const int = (raw: string | undefined, def: number): number => (raw === undefined ? def : Number(raw));
  const publicUrls = v.CDS_PUBLIC_URL === undefined ? [] : urlList(v.CDS_PUBLIC_URL).map((u) => u.replace(/\/+$/, ''));

  const config: AppConfig = {
    port: int(v.PORT, 3000),
    host: v.HOST ?? '0.0.0.0',
    modelDir: dirPath(v.LEADER_MODEL_DIR, 'models/default'),
    dataDir: dirPath(v.LEADER_DATA_DIR, 'var'),
    fhirMappingsDir: dirPath(v.LEADER_FHIR_MAPPINGS, 'fhir-mappings'),
    cdsHooksFile: dirPath(v.CDS_HOOKS_FILE, 'cds-hooks.json'),
    clientsFile: v.CDS_CLIENTS_FILE === undefined ? undefined : path.resolve(v.CDS_CLIENTS_FILE),
    authDisabled: v.CDS_AUTH_DISABLED === 'true',
    ...(publicUrls.length > 0 ? { publicUrl: publicUrls[0] } : {}),
    publicUrls,
    jwtClockSkewSeconds: int(v.CDS_JWT_CLOCK_SKEW_S, 30),
    jwtMaxLifetimeSeconds: int(v.CDS_JWT_MAX_LIFETIME_S, 600),
    jtiCachePerIssuer: int(v.CDS_JTI_CACHE_PER_ISSUER, 100_000),
    requestTimeoutMs: int(v.CDS_REQUEST_TIMEOUT_MS, 30_000),
    fhirMaxResponseBytes: bytes(v.FHIR_MAX_RESPONSE_BYTES ?? '20mb'),
    fhirMaxPages: int(v.FHIR_MAX_PAGES, 50),
    fhirDeadlineMs: int(v.FHIR_DEADLINE_MS, 15_000),
    maxResourcesPerKey: int(v.CDS_MAX_RESOURCES_PER_KEY, 50_000),
    maxVisits: int(v.CDS_MAX_VISITS, 5000),
    maxCodesPerVisit: int(v.CDS_MAX_CODES_PER_VISIT, 2000),
    maxMedicationParts: int(v.CDS_MAX_MEDICATION_PARTS, 32),
    feedbackMaxItems: int(v.CDS_FEEDBACK_MAX_ITEMS, 100),
    feedbackDedupeWindow: int(v.CDS_FEEDBACK_DEDUPE_WINDOW, 200_000),
    currentMedicationDays: int(v.LEADER_CURRENT_MEDS_DAYS, 90),
    smartFhirServers: v.SMART_FHIR_SERVERS === undefined ? [] : urlList(v.SMART_FHIR_SERVERS),
    smartClientId: v.SMART_CLIENT_ID ?? 'leader-cds-medication-review',
    corsOrigins: v.CDS_CORS_ORIGINS === undefined || v.CDS_CORS_ORIGINS === '*' ? '*' : originList(v.CDS_CORS_ORIGINS),
    fhirTimeoutMs: int(v.FHIR_TIMEOUT_MS, 5000),
    bodyLimit: v.CDS_BODY_LIMIT ?? '20mb',
    bodyLimitBytes: bytes(v.CDS_BODY_LIMIT ?? '20mb'),
    shutdownDrainMs: int(v.SHUTDOWN_DRAIN_MS, 5000),
    subscriptions: loadSubscriptionSettings(env),
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

/** `500kb` / `20mb` (validated above) in bytes. */
function bytes(raw: string): number {
  const m = /^(\d+)(kb|mb)$/i.exec(raw)!;
  return Number(m[1]) * (m[2].toLowerCase() === 'kb' ? 1024 : 1024 * 1024);
}

function urlList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function originList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
