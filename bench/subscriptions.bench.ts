/**
 * FHIR Subscriptions: how fast the subscriber acknowledges a notification (parse, origin check, SQLite
 * commit with synchronous=FULL) next to the service's cheapest answer (GET /health/live) in the same
 * run, and how many chart changes per second it turns into written-back recommendations (leader ehr
 * delivers Backport R4 id-only notifications; the worker re-reads, recommends, writes one transaction)
 * next to order-select calls per second for the same patients and visits. Both servers in this process
 * on 127.0.0.1, on the MIMIC-IV demo patients. Env: BENCH_SUBS_ACKS (default 300), BENCH_SUBS_EVENTS (default 30).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Condition, Encounter } from 'fhir/r4';
import { createApp } from '../src/app.factory';
import { createLogger } from '../src/common/logger';
import { loadAppConfig, repoRoot } from '../src/config/app-config';
import { loadFhirData } from '../src/ehr/ehr-data.loader';
import { startEhrServer } from '../src/ehr/ehr-server';
import { FhirServerClient } from '../src/fhir/fhir-server.client';
import { StudentModel } from '../src/inference/student-model';
import { convertMimic } from '../src/mimic/mimic-to-fhir.converter';
import { BackendTokenClient } from '../src/subscriptions/backend-token';
import { newBackendPrivateJwk, publicJwkOf } from '../src/subscriptions/backend-client-keys';
import { PATIENT_CHART_TOPIC } from '../src/fhir/subscriptions-backport';
import { SubscriptionStore } from '../src/subscriptions/subscription.store';
import { endpointOf, ORDER_INTENTS, subscriptionResource } from '../src/subscriptions/subscription-resource';
import { Terminology } from '../src/terminology/terminology';
import { cliConfig } from '../src/config/cli-config';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function latencies(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = process.hrtime.bigint();
    await fn(i);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times.sort((a, b) => a - b);
}

export async function runSubscriptionsBench(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const root = repoRoot();
  const acks = Math.max(20, Number(process.env.BENCH_SUBS_ACKS ?? 300));
  const eventCount = Math.max(5, Number(process.env.BENCH_SUBS_EVENTS ?? 30));
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'subs-bench-'));
  let fhirDir = path.join(root, 'out', 'fhir-mimic-iv');
  if (!existsSync(path.join(fhirDir, 'Patient.ndjson'))) {
    const source = path.join(cliConfig().sharedDataDir, 'mimic-iv-demo-2.2');
    if (!existsSync(source)) return void out('subscriptions: skipped (MIMIC-IV demo not found; set LEADER_SHARED_DATA)');
    fhirDir = path.join(work, 'fhir');
    await convertMimic(source, fhirDir);
  }

  const privateJwk = newBackendPrivateJwk('k1');
  const keyFile = path.join(work, 'key.json');
  await fs.writeFile(keyFile, JSON.stringify(privateJwk));
  const ehr = await startEhrServer({
    host: '127.0.0.1', port: 0, open: false,
    clients: [{ client_id: 'bench-subs', name: 'bench', type: 'backend', scope: 'system/*.cruds', jwks: { keys: [publicJwkOf(privateJwk) as Record<string, unknown>] } }],
    load: async (repo) => {
      await loadFhirData(repo, [fhirDir], () => undefined);
    },
  });
  const modelDir = process.env.LEADER_MODEL_DIR ? path.resolve(process.env.LEADER_MODEL_DIR) : path.join(root, 'models', 'default');
  const config = loadAppConfig({
    CDS_AUTH_DISABLED: 'true', LEADER_DATA_DIR: path.join(work, 'data'), LOG_LEVEL: 'warn', LEADER_MODEL_DIR: modelDir,
    SUBSCRIPTIONS_CLIENT_ID: 'bench-subs', SUBSCRIPTIONS_PRIVATE_KEY_FILE: keyFile, SUBSCRIPTIONS_SCOPE: 'system/*.cruds', SUBSCRIPTIONS_POLL_MS: '100',
  });
  let app: INestApplication | undefined;
  try {
    app = await createApp({ config, logger: createLogger('warn'), model: await StudentModel.load(modelDir), terminology: await Terminology.load() });
    await app.listen(0, '127.0.0.1');
    const service = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const tokens = new BackendTokenClient({ clientId: 'bench-subs', privateKeyFile: keyFile, scope: 'system/*.cruds' });
    const token = await tokens.token(ehr.fhirBase);
    const client = new FhirServerClient(ehr.fhirBase, { bearerToken: token, timeoutMs: 60_000 });
    const store = SubscriptionStore.open(config.subscriptions.databaseFile);

    // 1. Acknowledgement: id-only event notifications straight to the endpoint (a registration with no
    // Subscription behind it; the worker finds each focus gone and drops it), against GET /health/live.
    const ackReg = store.createRegistration({ fhirServer: ehr.fhirBase, kind: 'topic', criteria: PATIENT_CHART_TOPIC });
    const notification = (n: number) => JSON.stringify({
      resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'Parameters', parameter: [
        { name: 'topic', valueCanonical: PATIENT_CHART_TOPIC }, { name: 'status', valueCode: 'active' }, { name: 'type', valueCode: 'event-notification' },
        { name: 'events-since-subscription-start', valueString: String(n) },
        { name: 'notification-event', part: [{ name: 'event-number', valueString: String(n) }, { name: 'focus', valueReference: { reference: `Encounter/bench-missing-${n}` } }] },
      ] } }],
    });
    const ackUrl = endpointOf(service, ackReg.id);
    const health = await latencies(acks, async () => {
      const r = await fetch(`${service}/health/live`);
      await r.arrayBuffer();
    });
    const ack = await latencies(acks, async (i) => {
      const r = await fetch(ackUrl, { method: 'POST', body: notification(i + 1), headers: { 'Content-Type': 'application/fhir+json', Authorization: `Bearer ${ackReg.secret}` } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`notification answered ${r.status}`);
    });
    await waitUntil(() => store.counts(ackReg.id).done === acks, 600_000);

    // 2. Throughput: a Subscription on leader ehr, then one new Condition on the last admission of each of
    // `eventCount` demo patients; from the first write until every event's write-back is done.
    const reg = store.createRegistration({ fhirServer: ehr.fhirBase, kind: 'topic', criteria: PATIENT_CHART_TOPIC });
    const sub = await client.send('POST', 'Subscription', subscriptionResource(reg, service, { payload: 'id-only' }));
    store.setSubscriptionId(reg.id, sub!.id!);
    await waitUntil(async () => (await client.read<{ resourceType: 'Subscription'; status: string }>(`Subscription/${sub!.id}`)).status === 'active', 60_000);
    const encounters = (await client.searchAll('Encounter?_count=1000')) as Encounter[];
    const lastByPatient = new Map<string, Encounter>();
    for (const e of encounters.sort((a, b) => (a.period?.start ?? '').localeCompare(b.period?.start ?? ''))) lastByPatient.set(e.subject!.reference!, e);
    const visits = [...lastByPatient.values()].slice(0, eventCount);
    const started = Date.now();
    for (const e of visits) {
      const condition: Condition = { resourceType: 'Condition', subject: e.subject!, encounter: { reference: `Encounter/${e.id}` }, code: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10-cm', code: 'R50.9' }] } };
      await client.send('POST', 'Condition', condition);
    }
    await waitUntil(() => store.counts(reg.id).done >= visits.length, 1_800_000);
    const seconds = (Date.now() - started) / 1000;
    const outcomes = store.jobs({ registration: reg.id });
    const written = outcomes.filter((j) => j.outcome?.startsWith('written')).length;

    // Baseline: order-select for the same visits, the service fetching from leader ehr as the worker does.
    const hookStarted = Date.now();
    for (const e of visits) {
      const r = await fetch(`${service}/cds-services/leader-medications-order-select`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          hook: 'order-select', hookInstance: randomUUID(), fhirServer: ehr.fhirBase,
          fhirAuthorization: { access_token: token, token_type: 'Bearer', expires_in: 300, scope: 'system/*.cruds', subject: 'bench-subs' },
          context: { userId: 'Practitioner/bench', patientId: e.subject!.reference!.slice(8), encounterId: e.id, selections: [], draftOrders: { resourceType: 'Bundle', type: 'collection', entry: [] } },
          prefetch: { medicationRequests: await client.searchAll(`MedicationRequest?patient=${e.subject!.reference}&intent=${ORDER_INTENTS}&_include=MedicationRequest:medication&_count=1000`).then((entries) => ({ resourceType: 'Bundle', type: 'searchset', entry: entries.map((resource) => ({ resource })) })) },
        }),
      });
      if (r.status !== 200) throw new Error(`order-select answered ${r.status}`);
      await r.arrayBuffer();
    }
    const hookSeconds = (Date.now() - hookStarted) / 1000;
    store.close();

    out(`subscriptions: MIMIC-IV demo (${path.relative(root, fhirDir) || fhirDir}) in leader ehr; service in this process; 127.0.0.1; SQLite WAL, synchronous=FULL`);
    out(`  acknowledgement of an event notification (${acks} sequential POSTs, worker running): p50 ${percentile(ack, 0.5).toFixed(2)} ms, p99 ${percentile(ack, 0.99).toFixed(2)} ms`);
    out(`  baseline GET /health/live (${acks} sequential): p50 ${percentile(health, 0.5).toFixed(2)} ms, p99 ${percentile(health, 0.99).toFixed(2)} ms; ratio ack ÷ health (p50) ${(percentile(ack, 0.5) / percentile(health, 0.5)).toFixed(2)}`);
    out(`  events processed with write-back: ${visits.length} Conditions on ${visits.length} patients' last admissions → ${written} written in ${seconds.toFixed(1)} s = ${(visits.length / seconds).toFixed(2)} events/s (delivery, re-read, recommendation, one transaction each)`);
    out(`  baseline order-select for the same visits (service fetching from leader ehr): ${(visits.length / hookSeconds).toFixed(2)} calls/s; ratio events/s ÷ calls/s ${((visits.length / seconds) / (visits.length / hookSeconds)).toFixed(2)}`);
  } finally {
    await app?.close();
    await ehr.close();
    await fs.rm(work, { recursive: true, force: true });
  }
}

async function waitUntil(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`subscriptions bench: not done within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
