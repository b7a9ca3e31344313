import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { EhrRepository } from './ehr-repository';
import { loadFhirDefinitions } from './fhir-definitions';
import { FhirEndpoint, type FhirAccess } from './fhir-endpoint';
import { resourceScopes } from './smart-scopes';

const BASE = 'http://ehr.test/fhir';
const open: FhirAccess = { open: true };

describe('FhirEndpoint over the in-memory store', () => {
  let repo: EhrRepository;
  let fhir: FhirEndpoint;
  const get = (path: string, access: FhirAccess = open) => fhir.handle('GET', path, {}, undefined, access);

  beforeAll(() => loadFhirDefinitions());
  beforeEach(async () => {
    repo = new EhrRepository();
    fhir = new FhirEndpoint(repo, BASE, { authorize: 'http://ehr.test/oauth/auth', token: 'http://ehr.test/oauth/token' });
    for (const id of ['p1', 'p2']) await repo.updateResource({ resourceType: 'Patient', id });
    await repo.updateResource({ resourceType: 'Medication', id: 'm1', code: { text: 'aspirin' } });
    for (let i = 0; i < 5; i++) {
      await repo.updateResource({ resourceType: 'MedicationRequest', id: `mr${i}`, status: 'active', intent: 'order', subject: { reference: `Patient/${i < 4 ? 'p1' : 'p2'}` }, medicationReference: { reference: 'Medication/m1' } });
    }
  });

  it('treats a bare id in a reference search as Patient/<id>, like Patient/<id>', async () => {
    const bare = (await get('MedicationRequest?patient=p1')).body as Bundle;
    const typed = (await get('MedicationRequest?patient=Patient/p1')).body as Bundle;
    expect(bare.total).toBe(4);
    expect(bare.entry?.map((e) => e.resource?.id)).toEqual(typed.entry?.map((e) => e.resource?.id));
    expect(((await get('MedicationRequest?subject=p2')).body as Bundle).total).toBe(1);
  });

  it('pages with next links and resolves _include once per target', async () => {
    const page1 = (await get('MedicationRequest?patient=p1&_count=3&_include=MedicationRequest:medication')).body as Bundle;
    expect(page1.entry?.filter((e) => e.search?.mode === 'match')).toHaveLength(3);
    expect(page1.entry?.filter((e) => e.search?.mode === 'include').map((e) => e.resource?.id)).toEqual(['m1']);
    const next = page1.link?.find((l) => l.relation === 'next')?.url ?? '';
    const page2 = (await get(next.slice(BASE.length + 1))).body as Bundle;
    expect(page2.entry?.filter((e) => e.search?.mode === 'match')).toHaveLength(1);
    expect(page2.link?.some((l) => l.relation === 'next')).toBe(false);
  });

  it('rolls a failing transaction back and keeps what was there', async () => {
    const tx: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: [
      { resource: { resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p2' } }, request: { method: 'POST', url: 'MedicationRequest' } },
      { resource: { resourceType: 'Patient', id: 'p1', gender: 'female' }, request: { method: 'PUT', url: 'Patient/p1', ifMatch: 'W/"stale"' } },
    ] };
    const res = await fhir.handle('POST', '', {}, tx, open);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(((await get('MedicationRequest?_summary=count')).body as Bundle).total).toBe(5);
    expect((await get('Patient/p1')).body).not.toHaveProperty('gender');
  });

  it('keeps a patient-scoped token in its compartment', async () => {
    const token: FhirAccess = { open: false, scopes: resourceScopes('patient/*.rs'), patient: 'p2' };
    expect(((await get('MedicationRequest', token)).body as Bundle).entry?.map((e) => e.resource?.id)).toEqual(['mr4']);
    expect((await get('MedicationRequest?patient=p1', token)).status).toBe(403);
    expect((await get('MedicationRequest/mr0', token)).status).toBe(403);
    expect((await get('Medication/m1', token)).status).toBe(200);
    const write = await fhir.handle('POST', 'MedicationRequest', {}, { resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/p2' } }, token);
    expect(write.status).toBe(403);
    expect((write.body as OperationOutcome).issue?.[0].code).toBe('forbidden');
  });

  it('answers malformed FHIR and unknown parameters with 400 and an OperationOutcome naming them', async () => {
    const bad = await fhir.handle('POST', 'Patient', {}, { resourceType: 'Patient', birthDate: 12 }, open);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('birthDate');
    const unknown = await get('Patient?shoe-size=9');
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('shoe-size');
    expect(((await get('Patient?_summary=count')).body as Bundle).total).toBe(2);
  });

  it('lets only user/ and system/ scopes create Subscriptions, and only valid ones', async () => {
    const sub = { resourceType: 'Subscription', status: 'requested', reason: 'r', criteria: 'Encounter?', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:1/hook' } };
    const patientToken: FhirAccess = { open: false, scopes: resourceScopes('patient/*.cruds'), patient: 'p1' };
    expect((await fhir.handle('POST', 'Subscription', {}, sub, patientToken)).status).toBe(403);
    const tx = { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: sub, request: { method: 'POST', url: 'Subscription' } }] };
    expect((await fhir.handle('POST', '', {}, tx, patientToken)).status).toBe(403);
    const systemToken: FhirAccess = { open: false, scopes: resourceScopes('system/Subscription.c') };
    const javascript = await fhir.handle('POST', 'Subscription', {}, { ...sub, channel: { ...sub.channel, endpoint: 'javascript:alert(1)' } }, systemToken);
    expect(javascript.status).toBe(400);
    expect(JSON.stringify(javascript.body)).toContain('http(s) URL');
    expect((await fhir.handle('POST', 'Subscription', {}, sub, systemToken)).status).toBe(201);
  });
});
