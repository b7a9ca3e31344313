/**
 * The app API beside the order-select hook, for the median demo patient (the CDS bench's choice):
 * `POST /api/v1/recommendations` reading the patient from `leader ehr` with a SMART token, next to
 * order-select with the same data handed in as prefetch, and order-select fetching it itself.
 * Both servers in this process on 127.0.0.1. Env: LEADER_BENCH_FHIR, LEADER_MODEL_DIR, BENCH_SMART_RUNS.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { createApp } from '../src/app.factory';
import { createLogger } from '../src/common/logger';
import { loadAppConfig, repoRoot } from '../src/config/app-config';
import { loadFhirData } from '../src/ehr/ehr-data.loader';
import { startEhrServer } from '../src/ehr/ehr-server';
import { StudentModel } from '../src/inference/student-model';
import { Terminology } from '../src/terminology/terminology';
import { benchFhirLocation, benchPatients } from './cds-hooks.bench';
import { medianMs } from './ehr.bench';

/** One warm-up: each API call reads the whole record from the in-memory EHR (seconds). */
const timed = (runs: number, fn: () => Promise<unknown>) => medianMs(runs, fn, 1);

export async function runSmartApiBench(): Promise<void> {
  const root = repoRoot();
  const runs = Math.max(3, Number(process.env.BENCH_SMART_RUNS ?? 5));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const demo = path.join(root, 'out', 'fhir-mimic-iv');
  const location = process.env.LEADER_BENCH_FHIR ?? (existsSync(path.join(demo, 'Patient.ndjson')) ? demo : benchFhirLocation(root));
  const [median] = await benchPatients(location);
  const patientId = median.patient.patient.id as string;

  out(`smart-api: loading ${path.relative(root, location) || location} into leader ehr…`);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ehr = await startEhrServer({
    host: '127.0.0.1', port: 0, open: false,
    clients: [{ client_id: 'bench-app', name: 'bench', type: 'backend', scope: 'system/*.rs', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS384' }] } }],
    load: async (repo) => {
      await loadFhirData(repo, [location], () => undefined);
    },
  });
  const modelDir = process.env.LEADER_MODEL_DIR ? path.resolve(process.env.LEADER_MODEL_DIR) : path.join(root, 'models', 'default');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'smart-bench-'));
  const app = await createApp({
    config: loadAppConfig({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir, LOG_LEVEL: 'warn', LEADER_MODEL_DIR: modelDir, SMART_FHIR_SERVERS: ehr.fhirBase, FHIR_TIMEOUT_MS: '60000', FHIR_DEADLINE_MS: '300000' }),
    logger: createLogger('warn'), model: await StudentModel.load(modelDir), terminology: await Terminology.load(),
  });
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  try {
    const tokenUrl = ehr.auth.provider.urlFor('token');
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS384', kid: 'k1' }).setIssuer('bench-app').setSubject('bench-app')
      .setAudience(tokenUrl).setJti(randomUUID()).setExpirationTime('5m').sign(privateKey);
    const tokenRes = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }) });
    const token = ((await tokenRes.json()) as { access_token?: string }).access_token;
    if (!token) throw new Error(`backend-services token refused (${tokenRes.status})`);

    const call = (url: string, body: unknown, headers: Record<string, string> = {}) => async () => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      await res.json();
    };
    const hook = `${base}/cds-services/leader-medications-order-select`;
    const { prefetch, ...withoutPrefetch } = median.request;
    void prefetch;
    const fetching = { ...withoutPrefetch, fhirServer: ehr.fhirBase, fhirAuthorization: { access_token: token, token_type: 'Bearer', expires_in: 300, scope: 'system/*.rs', subject: 'bench-app' } };
    out(`  patient ${patientId} (${median.label}, ${median.patient.encounters.length} encounters, ${median.patient.medicationRequests.length} medication requests); ${runs} runs each after 1 warm-up`);
    const handedIn = await timed(runs, call(hook, median.request));
    out(`  order-select, prefetch handed in:              median ${handedIn.median.toFixed(1)} ms, p90 ${handedIn.p90.toFixed(1)} ms`);
    const hookFetching = await timed(runs, call(hook, fetching));
    out(`  order-select, service fetches from leader ehr: median ${hookFetching.median.toFixed(1)} ms, p90 ${hookFetching.p90.toFixed(1)} ms`);
    const api = await timed(runs, call(`${base}/api/v1/recommendations`, { fhirServer: ehr.fhirBase, patient: patientId }, { Authorization: `Bearer ${token}` }));
    out(`  POST /api/v1/recommendations (reads leader ehr with the token): median ${api.median.toFixed(1)} ms, p90 ${api.p90.toFixed(1)} ms`);
    out(`  ratio API ÷ order-select fetching (median): ${(api.median / hookFetching.median).toFixed(2)}; API ÷ order-select handed in: ${(api.median / handedIn.median).toFixed(2)}`);
  } finally {
    await app.close();
    await ehr.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
