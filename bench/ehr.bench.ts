/**
 * `leader ehr` as the CDS service's FHIR server: for the median demo patient (the CDS bench's
 * choice), the time to fetch the five prefetch searches from `leader ehr` over HTTP with a SMART
 * backend-services token, and the order-select latency when the service fetches them itself
 * (prefetch absent, fhirServer + fhirAuthorization) beside the same data handed in as prefetch.
 * Both servers in this process on 127.0.0.1. Env: LEADER_BENCH_FHIR, LEADER_MODEL_DIR, BENCH_EHR_RUNS.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT } from 'jose';
import { createApp } from '../src/app.factory';
import { DEFAULT_PREFETCH } from '../src/cds-hooks/cds-services.registry';
import { createLogger } from '../src/common/logger';
import { loadAppConfig, repoRoot } from '../src/config/app-config';
import { loadFhirData } from '../src/ehr/ehr-data.loader';
import { startEhrServer } from '../src/ehr/ehr-server';
import { StudentModel } from '../src/inference/student-model';
import { Terminology } from '../src/terminology/terminology';
import { benchFhirLocation, benchPatients } from './cds-hooks.bench';

const SERVICE = 'leader-medications-order-select';

export async function medianMs(runs: number, fn: () => Promise<unknown>, warmUps = 5): Promise<{ median: number; p90: number }> {
  for (let i = 0; i < warmUps; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p90: times[Math.floor(times.length * 0.9)] };
}

export async function runEhrBench(): Promise<void> {
  const root = repoRoot();
  const runs = Math.max(5, Number(process.env.BENCH_EHR_RUNS ?? 30));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  // The demo's data (`npm run demo` converts it to out/), else what the CDS bench reads.
  const demo = path.join(root, 'out', 'fhir-mimic-iv');
  const location = process.env.LEADER_BENCH_FHIR ?? (existsSync(path.join(demo, 'Patient.ndjson')) ? demo : benchFhirLocation(root));
  const [median] = await benchPatients(location);
  const patientId = median.patient.patient.id as string;

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ehrStarted = Date.now();
  const ehr = await startEhrServer({
    host: '127.0.0.1', port: 0, open: false,
    clients: [{ client_id: 'bench-cds', name: 'bench', type: 'backend', scope: 'system/*.rs', jwks: { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS384' }] } }],
    load: async (repo) => {
      await loadFhirData(repo, [location], () => undefined);
    },
  });
  const ehrLoadS = (Date.now() - ehrStarted) / 1000;
  const modelDir = process.env.LEADER_MODEL_DIR ? path.resolve(process.env.LEADER_MODEL_DIR) : path.join(root, 'models', 'default');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ehr-bench-'));
  const app = await createApp({
    config: loadAppConfig({ CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: dataDir, LOG_LEVEL: 'warn', LEADER_MODEL_DIR: modelDir }),
    logger: createLogger('warn'), model: await StudentModel.load(modelDir), terminology: await Terminology.load(),
  });
  await app.listen(0, '127.0.0.1');
  const cdsUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/cds-services/${SERVICE}`;
  try {
    const tokenUrl = ehr.auth.provider.urlFor('token');
    const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'RS384', kid: 'k1' }).setIssuer('bench-cds').setSubject('bench-cds')
      .setAudience(tokenUrl).setJti(randomUUID()).setExpirationTime('5m').sign(privateKey);
    const tokenRes = await fetch(tokenUrl, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion }) });
    const token = ((await tokenRes.json()) as { access_token?: string }).access_token;
    if (!token) throw new Error(`backend-services token refused (${tokenRes.status})`);

    // The service's own prefetch templates, as it would expand them, with paging followed.
    const templates = Object.entries(DEFAULT_PREFETCH).map(([key, t]) => [key, t.replace('{{context.patientId}}', patientId)] as const);
    const searchAll = async (extra = '') => {
      const found: Record<string, { resourceType: string; entry?: unknown[] }> = {};
      await Promise.all(templates.map(async ([key, q]) => {
        let next: string | undefined = `${ehr.fhirBase}/${q}${key === 'medicationRequests' ? extra : ''}`;
        while (next) {
          const res = await fetch(next, { headers: { Authorization: `Bearer ${token}` } });
          const body = (await res.json()) as { resourceType: string; entry?: unknown[]; link?: { relation: string; url: string }[] };
          if (!res.ok) throw new Error(`${next}: ${res.status}`);
          if (body.resourceType !== 'Bundle') found[key] = body;
          else found[key] = { ...body, entry: [...(found[key]?.entry ?? []), ...(body.entry ?? [])] };
          next = body.link?.find((l) => l.relation === 'next')?.url;
        }
      }));
      return found;
    };
    const count = (found: Record<string, { resourceType: string; entry?: unknown[] }>) =>
      Object.values(found).reduce((n, b) => n + (b.resourceType === 'Bundle' ? b.entry?.length ?? 0 : 1), 0);
    const resources = count(await searchAll());
    const post = (body: unknown) => async () => {
      const res = await fetch(cdsUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const cards = ((await res.json()) as { cards?: unknown[] }).cards;
      if (!res.ok || !cards) throw new Error(`order-select answered ${res.status}`);
    };
    // Both order-select calls carry the same context (the demo request's visit and draft order).
    // Handed in: what the five searches return, with the orders' Medications (as an EHR prefetches
    // them); fetching: no prefetch, the service searches leader ehr and reads each Medication.
    const { prefetch, ...context } = median.request;
    void prefetch;
    const handedInRequest = { ...context, prefetch: await searchAll('&_include=MedicationRequest:medication') };
    const fetching = { ...context, fhirServer: ehr.fhirBase, fhirAuthorization: { access_token: token, token_type: 'Bearer', expires_in: 300, scope: 'system/*.rs', subject: 'bench-cds' } };
    const medications = new Set(median.patient.medicationRequests.map((mr) => mr.medicationReference?.reference).filter(Boolean)).size;

    const searchTime = await medianMs(runs, () => searchAll());
    const handedIn = await medianMs(runs, post(handedInRequest));
    const fetched = await medianMs(runs, post(fetching));
    out(`ehr: ${path.relative(root, location) || location} loaded into leader ehr in ${ehrLoadS.toFixed(1)} s; patient ${patientId} (${median.label}, ${median.patient.encounters.length} encounters, ${median.patient.medicationRequests.length} medication requests); ${runs} runs each after 5 warm-ups, 127.0.0.1, SMART backend-services token`);
    out(`  five prefetch searches from leader ehr (parallel, paging followed, ${resources} resources): median ${searchTime.median.toFixed(1)} ms, p90 ${searchTime.p90.toFixed(1)} ms`);
    out(`  order-select, the same data handed in as prefetch (${(JSON.stringify(handedInRequest).length / 1024).toFixed(0)} KiB request): median ${handedIn.median.toFixed(1)} ms, p90 ${handedIn.p90.toFixed(1)} ms`);
    out(`  order-select, service fetches from leader ehr (5 searches + ${medications} Medication reads): median ${fetched.median.toFixed(1)} ms, p90 ${fetched.p90.toFixed(1)} ms`);
    out(`  ratio fetched ÷ handed-in (median): ${(fetched.median / handedIn.median).toFixed(2)}`);
  } finally {
    await app.close();
    await ehr.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
