import * as path from 'node:path';
import { ConfigError, loadAppConfig, loadSubscriptionSettings, repoRoot } from './app-config';
import { loadCliConfig } from './cli-config';

describe(loadAppConfig.name, () => {
  const demo = { CDS_AUTH_DISABLED: 'true' };

  it('gives the documented defaults, relative to the repository root', () => {
    expect(loadAppConfig(demo)).toEqual({
      port: 3000, host: '0.0.0.0', modelDir: path.join(repoRoot(), 'models/default'), dataDir: path.join(repoRoot(), 'var'),
      fhirMappingsDir: path.join(repoRoot(), 'fhir-mappings'), cdsHooksFile: path.join(repoRoot(), 'cds-hooks.json'),
      clientsFile: undefined, authDisabled: true, publicUrls: [], jwtClockSkewSeconds: 30, corsOrigins: '*',
      fhirTimeoutMs: 5000, bodyLimit: '20mb', bodyLimitBytes: 20 * 1024 * 1024, shutdownDrainMs: 5000, logLevel: 'info',
      jwtMaxLifetimeSeconds: 600, jtiCachePerIssuer: 100_000, requestTimeoutMs: 30_000, fhirMaxResponseBytes: 20 * 1024 * 1024,
      fhirMaxPages: 50, fhirDeadlineMs: 15_000, maxResourcesPerKey: 50_000, maxVisits: 5000, maxCodesPerVisit: 2000,
      maxMedicationParts: 32, feedbackMaxItems: 100, feedbackDedupeWindow: 200_000, currentMedicationDays: 90,
      smartFhirServers: [], smartClientId: 'leader-cds-medication-review',
      subscriptions: { databaseFile: path.join(repoRoot(), 'var', 'subscriptions.sqlite'), scope: 'system/*.rs system/*.c system/*.u system/Subscription.d', maxAttempts: 8, retryBaseMs: 2000, pollMs: 1000 },
    });
  });

  it('reads the subscriber settings: the backend client needs id and key file together, listed with the other problems', () => {
    const key = path.join(repoRoot(), 'package.json');
    expect(loadAppConfig({ ...demo, LEADER_DATA_DIR: '/srv/leader', SUBSCRIPTIONS_CLIENT_ID: 'leader-cds-backend', SUBSCRIPTIONS_PRIVATE_KEY_FILE: key, SUBSCRIPTIONS_MAX_ATTEMPTS: '3' }).subscriptions)
      .toMatchObject({ databaseFile: '/srv/leader/subscriptions.sqlite', clientId: 'leader-cds-backend', privateKeyFile: key, maxAttempts: 3 });
    expect(() => loadAppConfig({ ...demo, SUBSCRIPTIONS_CLIENT_ID: 'leader-cds-backend', PORT: 'x' }))
      .toThrow(/PORT=x \(must be an integer 0..65535\); SUBSCRIPTIONS_CLIENT_ID and SUBSCRIPTIONS_PRIVATE_KEY_FILE go together/);
    expect(() => loadSubscriptionSettings({ SUBSCRIPTIONS_CLIENT_ID: 'c', SUBSCRIPTIONS_PRIVATE_KEY_FILE: '/nope.json', SUBSCRIPTIONS_TOKEN_URL: 'ftp://x' }))
      .toThrow('SUBSCRIPTIONS_PRIVATE_KEY_FILE=/nope.json (file not found); SUBSCRIPTIONS_TOKEN_URL=ftp://x (must be an absolute http(s) URL without query)');
  });

  it('reads every variable, trimmed, blank as unset', () => {
    const sut = loadAppConfig({ ...demo, PORT: ' 8080 ', HOST: '', CDS_PUBLIC_URL: 'https://cds.example.org/base/', CDS_JWT_CLOCK_SKEW_S: '0',
      CDS_CORS_ORIGINS: 'https://a.example, http://b.example:8080', FHIR_TIMEOUT_MS: '100', CDS_BODY_LIMIT: '500kb', LOG_LEVEL: 'warn' });
    expect(sut).toMatchObject({ port: 8080, host: '0.0.0.0', publicUrl: 'https://cds.example.org/base', publicUrls: ['https://cds.example.org/base'], jwtClockSkewSeconds: 0,
      corsOrigins: ['https://a.example', 'http://b.example:8080'], fhirTimeoutMs: 100, bodyLimit: '500kb', logLevel: 'warn' });
  });

  it('takes several public URLs (the first for card links) and limits in bytes', () => {
    const sut = loadAppConfig({ ...demo, CDS_PUBLIC_URL: 'https://cds.example.org, http://10.0.0.5:3000/', CDS_BODY_LIMIT: '500kb', FHIR_MAX_RESPONSE_BYTES: '2mb', CDS_MAX_VISITS: '10' });
    expect(sut).toMatchObject({ publicUrl: 'https://cds.example.org', publicUrls: ['https://cds.example.org', 'http://10.0.0.5:3000'],
      bodyLimitBytes: 500 * 1024, fhirMaxResponseBytes: 2 * 1024 * 1024, maxVisits: 10 });
    expect(() => loadAppConfig({ ...demo, CDS_PUBLIC_URL: 'https://a.example, ftp://b' })).toThrow('CDS_PUBLIC_URL=https://a.example, ftp://b (each entry must be');
    expect(() => loadAppConfig({ ...demo, CDS_MAX_VISITS: '0' })).toThrow('CDS_MAX_VISITS=0 (must be an integer 1..1000000)');
  });

  it('names every invalid variable with its value and rule, in one message', () => {
    const bad = { PORT: '-1', CDS_AUTH_DISABLED: 'yes', CDS_PUBLIC_URL: 'ftp://x', CDS_JWT_CLOCK_SKEW_S: '301', CDS_CORS_ORIGINS: 'a.example',
      CDS_BODY_LIMIT: '20', FHIR_TIMEOUT_MS: '5s', LOG_LEVEL: 'loud' };
    expect(() => loadAppConfig(bad)).toThrow(ConfigError);
    const message = (() => { try { loadAppConfig(bad); return ''; } catch (e) { return (e as Error).message; } })();
    for (const part of ['PORT=-1 (must be an integer 0..65535)', 'CDS_AUTH_DISABLED=yes (must be true or false)', 'CDS_PUBLIC_URL=ftp://x (each entry must be an absolute http(s) base URL',
      'CDS_JWT_CLOCK_SKEW_S=301 (must be an integer 0..300)', 'CDS_CORS_ORIGINS=a.example (each origin', 'CDS_BODY_LIMIT=20 (must look like',
      'FHIR_TIMEOUT_MS=5s (must be an integer 100..60000)', 'LOG_LEVEL=loud (must be one of']) expect(message).toContain(part);
    expect(message.split('\n')).toHaveLength(1);
  });

  it('requires trusted clients and the public URL unless auth is disabled, and the file must exist', () => {
    expect(() => loadAppConfig({})).toThrow('CDS_CLIENTS_FILE= (required: a JSON file of trusted CDS clients');
    expect(() => loadAppConfig({})).toThrow('CDS_PUBLIC_URL= (required when auth is on');
    const url = { CDS_PUBLIC_URL: 'https://cds.example.org' };
    expect(() => loadAppConfig({ ...url, CDS_CLIENTS_FILE: '/nonexistent.json' })).toThrow('CDS_CLIENTS_FILE=/nonexistent.json (file not found)');
    expect(loadAppConfig({ ...url, CDS_CLIENTS_FILE: path.join(repoRoot(), 'package.json') }).clientsFile).toBe(path.join(repoRoot(), 'package.json'));
  });
});

describe(loadCliConfig.name, () => {
  it('defaults beside the repository and takes overrides', () => {
    expect(loadCliConfig({})).toMatchObject({ sharedDataDir: path.resolve(repoRoot(), '..', 'shared', 'data'), python: '/usr/bin/python3', debug: false });
    const sut = loadCliConfig({ LEADER_SHARED_DATA: '/data/shared', LEADER_PYTHON: '/opt/py', LEADER_DEBUG: '1', MY_TOKEN: 's3cret' });
    expect(sut).toMatchObject({ sharedDataDir: '/data/shared', python: '/opt/py', debug: true });
    expect(sut.secret('MY_TOKEN')).toBe('s3cret');
  });

  it('refuses an invalid value in one line', () => {
    expect(() => loadCliConfig({ LEADER_DEBUG: 'yes' })).toThrow('invalid environment: LEADER_DEBUG=yes (must be 1, true, 0 or false)');
  });
});
