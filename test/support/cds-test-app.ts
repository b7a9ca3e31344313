import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Bundle, Resource } from 'fhir/r4';
import { createApp } from '../../src/app.factory';
import { AppConfig, loadAppConfig } from '../../src/config/app-config';
import { createLogger } from '../../src/common/logger';
import { StudentModel } from '../../src/inference/student-model';
import { Terminology } from '../../src/terminology/terminology';
import { packageRoot } from '../../src/common/package-root';

// The checkout, from test/support under ts-jest and from dist/test/support in the built bench.
const repo = packageRoot();

/**
 * The model the CDS e2e tests serve: the committed models/default (the one `npm start` serves), or
 * LEADER_TEST_MODEL_DIR when set. Both are real models from the project's pipeline.
 */
export function cdsTestModelDir(): string {
  const dir = process.env.LEADER_TEST_MODEL_DIR ? path.resolve(process.env.LEADER_TEST_MODEL_DIR) : path.join(repo, 'models', 'default');
  if (!existsSync(path.join(dir, 'manifest.json'))) {
    throw new Error(`CDS e2e tests need a trained model at ${dir} (run \`npm run train:default\`, or set LEADER_TEST_MODEL_DIR)`);
  }
  return dir;
}

let shared: Promise<{ model: StudentModel; terminology: Terminology }> | undefined;
/** Model and terminology loaded once per test file (they are read-only). */
export function sharedServingData(): Promise<{ model: StudentModel; terminology: Terminology }> {
  shared ??= (async () => ({ model: await StudentModel.load(cdsTestModelDir()), terminology: await Terminology.load() }))();
  return shared;
}

export interface CdsTestApp {
  app: INestApplication;
  /** http://127.0.0.1:<port> */
  url: string;
  config: AppConfig;
  close(): Promise<void>;
}

/** Starts the real app (createApp, as main.ts does) on 127.0.0.1 with the given environment. */
export async function startCdsApp(env: Record<string, string>): Promise<CdsTestApp> {
  const config = loadAppConfig({ LOG_LEVEL: 'silent', ...env });
  const { model, terminology } = await sharedServingData();
  const app = await createApp({ config, logger: createLogger('silent'), model, terminology });
  await app.listen(0, '127.0.0.1');
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}`, config, close: () => app.close() };
}

const FIXTURE_FHIR = path.join(repo, 'test', 'fixtures', 'cds', 'fhir');

/** Every resource of the CDS fixture NDJSON (test/fixtures/cds/fhir). */
export function fixtureFhirResources(): Resource[] {
  return readdirSync(FIXTURE_FHIR).filter((f) => f.endsWith('.ndjson')).sort().flatMap((f) =>
    readFileSync(path.join(FIXTURE_FHIR, f), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Resource));
}

/** Full prefetch for a fixture patient, as an EHR would send it (searchset Bundles, Medications included). */
export function fullPrefetch(patientId: string): Record<string, Resource> {
  const all = fixtureFhirResources();
  const ofPatient = (type: string) => all.filter((r) => r.resourceType === type && JSON.stringify((r as { subject?: unknown }).subject ?? {}).includes(`Patient/${patientId}`));
  const bundle = (resources: Resource[]): Bundle => ({ resourceType: 'Bundle', type: 'searchset', total: resources.length, entry: resources.map((resource) => ({ resource })) });
  const medicationRequests = ofPatient('MedicationRequest');
  const medIds = new Set(medicationRequests.map((m) => (m as { medicationReference?: { reference?: string } }).medicationReference?.reference).filter(Boolean));
  const medications = all.filter((r) => r.resourceType === 'Medication' && medIds.has(`Medication/${r.id}`));
  const patient = all.find((r) => r.resourceType === 'Patient' && r.id === patientId);
  if (!patient) throw new Error(`no fixture patient ${patientId}`);
  return {
    patient,
    encounters: bundle(ofPatient('Encounter')),
    conditions: bundle(ofPatient('Condition')),
    procedures: bundle(ofPatient('Procedure')),
    medicationRequests: bundle([...medicationRequests, ...medications]),
    medicationStatements: bundle(ofPatient('MedicationStatement')),
  };
}

/** A CDS Hooks request body for a hook; drafts are MedicationRequests put in context.draftOrders. */
export function hookRequest(hook: 'patient-view' | 'order-select' | 'order-sign', patientId: string, opts: {
  prefetch?: Record<string, unknown>; drafts?: Record<string, unknown>[]; encounterId?: string; fhirServer?: string; accessToken?: string;
} = {}): Record<string, unknown> {
  const context: Record<string, unknown> = { userId: 'Practitioner/COREPRACTITIONER1', patientId };
  if (opts.encounterId) context.encounterId = opts.encounterId;
  if (hook !== 'patient-view') {
    const drafts = opts.drafts ?? [];
    context.draftOrders = { resourceType: 'Bundle', entry: drafts.map((resource) => ({ resource })) };
    if (hook === 'order-select') context.selections = drafts.map((d) => `MedicationRequest/${String(d.id)}`);
  }
  return {
    hookInstance: '1c1b2f1e-4a8b-4a55-9b3c-0f1f5d5e0c01',
    hook,
    ...(opts.fhirServer ? { fhirServer: opts.fhirServer } : {}),
    ...(opts.accessToken ? { fhirAuthorization: { access_token: opts.accessToken, token_type: 'Bearer', expires_in: 300, scope: 'patient/*.read', subject: 'leader-cds' } } : {}),
    context,
    ...(opts.prefetch ? { prefetch: opts.prefetch } : {}),
  };
}

/** A draft MedicationRequest coded with ATC (as the demo and our own suggestions do) or RxNorm. */
export function draftOrder(id: string, patientId: string, coding: { system: string; code: string; display?: string }): Record<string, unknown> {
  return {
    resourceType: 'MedicationRequest', id, status: 'draft', intent: 'order',
    subject: { reference: `Patient/${patientId}` },
    medicationCodeableConcept: { coding: [coding], ...(coding.display ? { text: coding.display } : {}) },
  };
}
