import { conditionJson, jsonString, medicationRequestJson, MEDICATION_REQUEST_IDENTIFIER, procedureJson, type MedicationRequestParts } from './mimic-event.json';
import { NdjsonWriter } from './ndjson-writer';

describe('mimic-event.json', () => {
  const tricky = ['plain', 'quote " and \\ backslash', 'tab\tnewline\n', 'Sjögren é', 'emoji 😀', 'lone \ud800 surrogate', '\u0001', ''];

  it.each(tricky)('jsonString(%j) equals JSON.stringify', (s) => {
    expect(jsonString(s)).toBe(JSON.stringify(s));
  });

  it('builds Condition and Procedure lines that parse to the documented shape', () => {
    const local = { system: 'L', code: '4019', display: 'Hypertension "NOS"' };
    const standard = { system: 'S', code: '401.9' };
    expect(JSON.parse(conditionJson('c1', local, standard, 'p1', 'e1'))).toEqual({
      resourceType: 'Condition',
      id: 'c1',
      meta: { profile: ['http://mimic.mit.edu/fhir/mimic/StructureDefinition/mimic-condition'] },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-category', code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }] }],
      code: { coding: [local, standard] },
      subject: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/e1' },
    });
    const procedure = JSON.parse(procedureJson('x1', local, standard, 'p1', undefined, '2150-01-01'));
    expect(procedure).toMatchObject({ resourceType: 'Procedure', status: 'completed', performedDateTime: '2150-01-01' });
    expect(procedure).not.toHaveProperty('encounter');
  });

  it('builds a MedicationRequest equal to the object form, leaving out what is absent', () => {
    const full = medicationRequestJson({
      id: 'm1', identifierSystem: MEDICATION_REQUEST_IDENTIFIER.pharmacyId, identifierValue: '42', status: 'completed',
      medicationId: 'med1', drug: 'Aspirin "EC"', patientId: 'p1', encounterId: 'e1', start: '2150-01-01T10:00:00Z',
      stop: '2150-01-02T10:00:00Z', strength: '81 mg Tab', route: 'PO', dose: { doseQuantity: { value: 81, unit: 'mg' } },
    });
    expect(full).toBe(JSON.stringify({
      resourceType: 'MedicationRequest',
      id: 'm1',
      meta: { profile: ['http://mimic.mit.edu/fhir/mimic/StructureDefinition/mimic-medication-request'] },
      identifier: [{ system: 'http://mimic.mit.edu/fhir/mimic/identifier/medication-request-phid', value: '42' }],
      status: 'completed',
      intent: 'order',
      medicationReference: { reference: 'Medication/med1', display: 'Aspirin "EC"' },
      subject: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/e1' },
      authoredOn: '2150-01-01T10:00:00Z',
      dosageInstruction: [{
        text: '81 mg Tab',
        route: { coding: [{ system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-route', code: 'PO' }], text: 'PO' },
        doseAndRate: [{ doseQuantity: { value: 81, unit: 'mg' } }],
      }],
      dispenseRequest: { validityPeriod: { start: '2150-01-01T10:00:00Z', end: '2150-01-02T10:00:00Z' } },
    }));
    const bare = JSON.parse(medicationRequestJson({
      id: 'm2', identifierSystem: MEDICATION_REQUEST_IDENTIFIER.rowId, identifierValue: '', status: 'unknown',
      medicationId: 'med2', drug: '', patientId: 'p2', strength: '', route: '',
    }));
    expect(bare).toEqual({
      resourceType: 'MedicationRequest', id: 'm2', meta: expect.any(Object), status: 'unknown', intent: 'order',
      medicationReference: { reference: 'Medication/med2' }, subject: { reference: 'Patient/p2' },
    });
  });
});

describe(medicationRequestJson.name, () => {
  /** The object form the fast builder must serialise to, byte for byte. */
  const reference = (p: MedicationRequestParts): string => {
    const dosage: Record<string, unknown> = {};
    if (p.strength !== '') dosage.text = p.strength;
    if (p.route !== '') dosage.route = { coding: [{ system: 'http://mimic.mit.edu/fhir/mimic/CodeSystem/mimic-medication-route', code: p.route }], text: p.route };
    if (p.dose !== undefined) dosage.doseAndRate = [p.dose];
    return JSON.stringify({
      resourceType: 'MedicationRequest',
      id: p.id,
      meta: { profile: ['http://mimic.mit.edu/fhir/mimic/StructureDefinition/mimic-medication-request'] },
      identifier: p.identifierValue === '' ? undefined : [{ system: p.identifierSystem, value: p.identifierValue }],
      status: p.status,
      intent: 'order',
      medicationReference: { reference: `Medication/${p.medicationId}`, display: p.drug === '' ? undefined : p.drug },
      subject: { reference: `Patient/${p.patientId}` },
      encounter: p.encounterId === undefined ? undefined : { reference: `Encounter/${p.encounterId}` },
      authoredOn: p.start,
      dosageInstruction: Object.keys(dosage).length > 0 ? [dosage] : undefined,
      dispenseRequest: p.start !== undefined || p.stop !== undefined ? { validityPeriod: { start: p.start, end: p.stop } } : undefined,
    });
  };

  it('equals JSON.stringify of the object form for every combination of present and absent parts', () => {
    const doses: MedicationRequestParts['dose'][] = [
      undefined,
      { doseQuantity: { value: 0.5 } },
      { doseQuantity: { value: 25000, unit: 'UNIT "x"' } },
      { doseRange: { low: { value: 1, unit: 'tab' }, high: { value: 2.25, unit: 'tab' } } },
      { doseRange: { low: { value: 1e-7 }, high: { value: 1e21 } } },
    ];
    let n = 0;
    for (let mask = 0; mask < 128; mask++) {
      for (const dose of doses) {
        const parts: MedicationRequestParts = {
          id: 'id1', identifierSystem: mask & 1 ? MEDICATION_REQUEST_IDENTIFIER.rowId : MEDICATION_REQUEST_IDENTIFIER.pharmacyId,
          identifierValue: mask & 2 ? '' : '4"2', status: mask & 1 ? 'unknown' : 'completed', medicationId: 'med', drug: mask & 4 ? '' : 'Sjögren\\ 😀',
          patientId: 'pat', encounterId: mask & 8 ? undefined : 'enc', start: mask & 16 ? undefined : '2150-01-01T10:00:00Z',
          stop: mask & 32 ? undefined : '2150-01-02', strength: mask & 64 ? '' : '5\tmg', route: mask & 1 ? '' : 'IV\n', dose,
        };
        expect(medicationRequestJson(parts)).toBe(reference(parts));
        n++;
      }
    }
    expect(n).toBe(640);
  });
});

describe(NdjsonWriter.name, () => {
  it('writes every line once, in order, across buffer boundaries and multi-byte text', async () => {
    const { promises: fs } = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ndjson-writer-'));
    try {
      const sut = await NdjsonWriter.create(path.join(dir, 'x.ndjson'));
      const expected: string[] = [];
      for (let i = 0; i < 3000; i++) {
        const line = JSON.stringify({ i, text: `Sjögren ${'x'.repeat(i % 700)}` });
        expected.push(line);
        sut.addLine(line);
        if (i % 500 === 0) await sut.flushIfFull();
      }
      sut.add({ big: 'y'.repeat(1_500_000) });
      await sut.close();
      const lines = (await fs.readFile(path.join(dir, 'x.ndjson'), 'utf8')).split('\n');
      expect(lines.slice(0, 3000)).toEqual(expected);
      expect(JSON.parse(lines[3000]).big).toHaveLength(1_500_000);
      expect(lines[3001]).toBe('');
      expect(sut.count).toBe(3001);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
