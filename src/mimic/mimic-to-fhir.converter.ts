import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Coding, Extension } from 'fhir/r4';
import { writeDirAtomic } from '../common/atomic-write';
import { CliError } from '../common/cli-error';
import { EXTENSION, MIMIC_IDENTIFIER, MIMIC_PROFILE, MIMIC_SYSTEM, SYSTEM } from '../terminology/code-systems';
import { ConversionReport, type ReasonCount } from './conversion-report';
import { columnIndex, fileSize, streamCsvFile } from './csv-file-reader';
import { dotIcd10cm, dotIcd9Diagnosis, dotIcd9Procedure, undotCode } from '../terminology/code-normalise';
import { HashRepeatCounter, MIMIC_RESOURCE_TYPES, MimicIds, type MimicResourceType } from './mimic-ids';
import { detectMimicLayout, type MimicDataset, type MimicLayout, type MimicTables } from './mimic-layout';
import {
  dateOnly, encounterClass, ethnicityExtension, gender, language, maritalStatus, ndc11, parseDose, raceExtension, toFhirDateTime,
} from './mimic-value.mapper';
import { conditionJson, MEDICATION_REQUEST_IDENTIFIER, medicationRequestJson, procedureJson, type CodingParts } from './mimic-event.json';
import { NdjsonWriter } from './ndjson-writer';

/** What the converter needs from the CLI's ProgressReporter (structural, so src/mimic stays below src/cli). */
export interface MimicProgress {
  bar(label: string, total: number, unit?: string): { update(value: number): void; stop(): void };
  info(line: string): void;
}

export interface ConvertMimicOptions {
  progress?: MimicProgress;
}

export interface ConvertMimicResult {
  dataset: MimicDataset;
  version?: string;
  outDir: string;
  /** Resources written per type. */
  resources: Record<MimicResourceType, number>;
  /** Data rows read per source table (key = table name as in MIMIC, e.g. diagnoses_icd). */
  rows: Record<string, number>;
  dropped: ReasonCount[];
  warnings: ReasonCount[];
  /** File names written into outDir. */
  files: string[];
}

const NDJSON_FILES: Record<MimicResourceType, string> = {
  Patient: 'Patient.ndjson',
  Encounter: 'Encounter.ndjson',
  Condition: 'Condition.ndjson',
  Procedure: 'Procedure.ndjson',
  Medication: 'Medication.ndjson',
  MedicationRequest: 'MedicationRequest.ndjson',
};
export const REPORT_FILE = 'conversion-report.json';
export const PROVENANCE_FILE = 'provenance.json';

const PROFILE = {
  patient: [`${MIMIC_PROFILE}/mimic-patient`],
  encounter: [`${MIMIC_PROFILE}/mimic-encounter`],
  medication: [`${MIMIC_PROFILE}/mimic-medication`],
};
/** Joins a source key and its repeat ordinal; a control character cannot occur in a MIMIC key. */
const REPEAT_SEPARATOR = '\u001f';

interface AdmissionInfo {
  encounterId: string;
  /** FHIR dateTime of admittime (MIMIC-III procedures have no date of their own). */
  admitted?: string;
}

/** Patient-level values come from the patient's last admission (MIMIC keeps them per admission). */
interface LastAdmission {
  admittime: string;
  hadmId: string;
  maritalStatus: string;
  language: string;
  race: string;
}

/**
 * Deliberate differences from MIMIC-IV on FHIR (kind-lab/mimic-fhir), each for a consumer here:
 * - Encounter.type carries the admission_type (MIMIC_SYSTEM.admissionType) instead of HCPCS codes:
 *   the timeline reads the admission type from there. Only hospital admissions become Encounters.
 * - Codings carry the MIMIC local code AND the standard one (dotted ICD-9-CM / ICD-10-CM, ICD-10-PCS,
 *   11-digit NDC), and a Medication keeps every code it has (NDC, GSN(s), formulary code, name)
 *   instead of one by precedence. One MedicationRequest per prescriptions row; no medication mixes.
 * - MedicationRequest.status: prescriptions have no pharmacy status, so 'completed' when a stop
 *   time is set, else 'unknown'; authoredOn = starttime (MIMIC-III: startdate).
 * - Patient.birthDate: see ivBirthDate (MIMIC-IV); MIMIC-III dob as given (ages > 89 are shifted
 *   ~300 years by MIMIC and stay so). Marital status, language and race come from the last admission.
 * - Times: MIMIC timestamps are date-shifted local times without zone; written with "Z".
 * - Ids: UUIDv5 as in MIMIC-on-FHIR (see MimicIds); the source key is subject-hadm-pharmacy_id-drug
 *   for MIMIC-IV prescriptions (pharmacy_id alone repeats within a multi-drug order) and row_id for
 *   MIMIC-III; a repeated key gets its ordinal appended so every row keeps its own resource.
 * - MIMIC-III procedures have no date: performedDateTime = the admission's admittime.
 *
 * Convert a MIMIC-III or MIMIC-IV folder into FHIR R4 NDJSON (one file per resource type) following
 * the MIMIC-IV on FHIR conventions (cds-fhir.md §4.2), plus conversion-report.json and provenance.json.
 * Event tables are streamed; only admissions, patients, title dictionaries and distinct medications
 * are held in memory. Output is built in a temporary sibling folder and renamed into place at the end,
 * so a failed run never leaves a partial `outDir`. Same input → byte-identical output.
 */
export async function convertMimic(sourceDir: string, outDir: string, opts: ConvertMimicOptions = {}): Promise<ConvertMimicResult> {
  const layout = await detectMimicLayout(sourceDir);
  const target = path.resolve(outDir);
  await assertSafeTarget(layout.sourceDir, target);
  return writeDirAtomic(target, async (tmp) => {
    const run = new MimicConversion(layout, tmp, opts.progress);
    const result = await run.execute();
    return { ...result, outDir: target };
  });
}

async function assertSafeTarget(sourceDir: string, target: string): Promise<void> {
  const rel = path.relative(target, sourceDir);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new CliError(`--out ${target}: would replace the source folder ${sourceDir}; choose another output folder`);
  }
  let entries: string[];
  try {
    entries = await fs.readdir(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new CliError(`--out ${target}: ${code === 'ENOTDIR' ? 'exists and is not a folder' : `cannot read (${code})`}`);
  }
  if (entries.length > 0 && !entries.includes(REPORT_FILE)) {
    throw new CliError(`--out ${target}: folder exists and is not a previous mimic-to-fhir output; refusing to replace it`);
  }
}

class MimicConversion {
  private readonly ids: MimicIds;
  private readonly report = new ConversionReport();
  private readonly writers = {} as Record<MimicResourceType, NdjsonWriter>;
  private readonly rows: Record<string, number> = {};
  private readonly admissions = new Map<string, AdmissionInfo>();
  private readonly lastAdmission = new Map<string, LastAdmission>();
  private readonly patientIds = new Map<string, string>();
  private readonly patientsInTable = new Set<string>();
  /** ICD long titles by undotted code, one map per kind and ICD version (no composite key per row). */
  private readonly titles: Record<'dx9' | 'dx10' | 'px9' | 'px10', Map<string, string>> = {
    dx9: new Map(), dx10: new Map(), px9: new Map(), px10: new Map(),
  };
  private readonly medications = new Map<string, string>();
  private readonly isIV: boolean;
  /** The last event row's known patient and admission (only hits are kept, so warnings still repeat per row). */
  private readonly lastEvent = { subject: '', patientId: '', hadm: '', encounterId: '' };

  constructor(private readonly layout: MimicLayout, private readonly dir: string, private readonly progress?: MimicProgress) {
    this.ids = new MimicIds(layout.dataset);
    this.isIV = layout.dataset === 'MIMIC-IV';
  }

  async execute(): Promise<Omit<ConvertMimicResult, 'outDir'>> {
    for (const type of MIMIC_RESOURCE_TYPES) this.writers[type] = await NdjsonWriter.create(path.join(this.dir, NDJSON_FILES[type]));
    try {
      const t = this.layout.tables;
      await this.admissionsTable(t.admissions);
      await this.patientsTable(t.patients);
      if (t.diagnosisTitles) await this.titlesTable(t.diagnosisTitles, 'dx');
      if (t.procedureTitles) await this.titlesTable(t.procedureTitles, 'px');
      await this.diagnosesTable(t.diagnoses);
      await this.proceduresTable(t.procedures);
      await this.prescriptionsTable(t.prescriptions);
    } finally {
      for (const w of Object.values(this.writers)) await w.close();
    }
    const resources = {} as Record<MimicResourceType, number>;
    for (const type of MIMIC_RESOURCE_TYPES) resources[type] = this.writers[type].count;
    const files = MIMIC_RESOURCE_TYPES.map((t) => NDJSON_FILES[t]);
    await this.writeReport(resources);
    files.push(REPORT_FILE, PROVENANCE_FILE);
    if (await this.copyLicense()) files.push('LICENSE.txt');
    return {
      dataset: this.layout.dataset,
      version: this.layout.version,
      resources,
      rows: this.rows,
      dropped: this.report.droppedList(),
      warnings: this.report.warningList(),
      files,
    };
  }

  // ---- tables -------------------------------------------------------------------------------

  /**
   * Stream one table. `onHeader` resolves column positions and returns the row handler; only the
   * columns it resolved (any record of positions, e.g. columnIndex's, plus `extra`) are sliced out
   * of each record, the rest is read as ''.
   */
  private async stream(
    table: string,
    file: string,
    onHeader: (header: string[]) => { columns: Record<string, number>; row: (fields: string[], line: number) => void },
  ): Promise<void> {
    const bar = this.progress?.bar(table, await fileSize(file), 'bytes');
    let onRow: ((fields: string[], line: number) => void) | undefined;
    const rows = await streamCsvFile(file, {
      header: (h) => {
        const handler = onHeader(h);
        onRow = handler.row;
        return Object.values(handler.columns);
      },
      row: (f, line) => onRow!(f, line),
      afterChunk: () => this.flushIfFull(),
      progress: (bytes) => bar?.update(bytes),
    });
    bar?.stop();
    this.rows[table] = rows;
  }

  private async flushIfFull(): Promise<void> {
    for (const w of Object.values(this.writers)) await w.flushIfFull();
  }

  private async admissionsTable(file: string): Promise<void> {
    const table = 'admissions';
    await this.stream(table, file, (header) => {
      const c = columnIndex(file, header,
        ['subject_id', 'hadm_id', 'admittime', 'dischtime', 'admission_type', 'insurance', 'language', 'marital_status'] as const,
        ['race', 'ethnicity', 'admission_location', 'discharge_location'] as const);
      const raceCol = c.race >= 0 ? c.race : c.ethnicity;
      return { columns: c, row: (f, line) => {
        const subject = f[c.subject_id].trim();
        const hadm = f[c.hadm_id].trim();
        if (subject === '' || hadm === '') return this.report.drop(table, 'missing subject_id or hadm_id', line);
        if (this.admissions.has(hadm)) return this.report.drop(table, 'duplicate hadm_id', line);
        const encounterId = this.ids.id('Encounter', hadm);
        const start = this.dateTime(f[c.admittime], table, 'admittime', line);
        const end = this.dateTime(f[c.dischtime], table, 'dischtime', line);
        this.admissions.set(hadm, { encounterId, admitted: start });

        const admittime = f[c.admittime].trim();
        const race = raceCol >= 0 ? f[raceCol] : '';
        const last = this.lastAdmission.get(subject);
        if (!last || admittime > last.admittime || (admittime === last.admittime && hadm > last.hadmId)) {
          this.lastAdmission.set(subject, { admittime, hadmId: hadm, maritalStatus: f[c.marital_status], language: f[c.language], race });
        }

        const admissionType = f[c.admission_type].trim();
        const cls = encounterClass(admissionType);
        if (!cls.mapped) this.report.warn(table, `admission_type without an Encounter.class mapping (IMP used)`, line);
        const extension: Extension[] = [];
        const insurance = f[c.insurance].trim();
        if (insurance !== '') extension.push({ url: EXTENSION.encounterInsurance, valueString: insurance });
        const lang = f[c.language].trim();
        if (lang !== '') extension.push({ url: EXTENSION.encounterLanguage, valueString: lang });
        const marital = maritalStatus(f[c.marital_status]);
        if (marital) extension.push({ url: EXTENSION.encounterMaritalStatus, valueCodeableConcept: marital });
        const hospitalization: Record<string, unknown> = {};
        const admitSource = c.admission_location >= 0 ? f[c.admission_location].trim() : '';
        if (admitSource !== '') hospitalization.admitSource = { text: admitSource };
        const discharge = c.discharge_location >= 0 ? f[c.discharge_location].trim() : '';
        if (discharge !== '') hospitalization.dischargeDisposition = { text: discharge };

        this.writers.Encounter.add({
          resourceType: 'Encounter',
          id: encounterId,
          meta: { profile: PROFILE.encounter },
          extension: extension.length > 0 ? extension : undefined,
          identifier: [{ system: `${MIMIC_IDENTIFIER}/encounter-hosp`, value: hadm }],
          status: 'finished',
          class: cls.coding,
          // Deviation from MIMIC-on-FHIR (which puts HCPCS codes here): the timeline reads the admission type from Encounter.type.
          type: admissionType === '' ? undefined
            : [{ coding: [{ system: MIMIC_SYSTEM.admissionType, code: admissionType, display: admissionType }], text: admissionType }],
          subject: { reference: `Patient/${this.patientId(subject)}` },
          period: start || end ? { start, end } : undefined,
          hospitalization: admitSource || discharge ? hospitalization : undefined,
        });
      } };
    });
  }

  private async patientsTable(file: string): Promise<void> {
    const table = 'patients';
    await this.stream(table, file, (header) => {
      const c = columnIndex(file, header, ['subject_id', 'gender'] as const, ['anchor_age', 'anchor_year', 'dob', 'dod'] as const);
      if (this.isIV && (c.anchor_age < 0 || c.anchor_year < 0)) throw new CliError(`${file}:1: missing column 'anchor_age' or 'anchor_year'`);
      if (!this.isIV && c.dob < 0) throw new CliError(`${file}:1: missing column 'dob'`);
      return { columns: c, row: (f, line) => {
        const subject = f[c.subject_id].trim();
        if (subject === '') return this.report.drop(table, 'missing subject_id', line);
        if (this.patientsInTable.has(subject)) return this.report.drop(table, 'duplicate subject_id', line);
        this.patientsInTable.add(subject);
        const birthDate = this.isIV ? ivBirthDate(f[c.anchor_age], f[c.anchor_year]) : dateOnly(f[c.dob]);
        if (!birthDate) this.report.warn(table, 'no usable birth date', line);
        const dod = c.dod >= 0 ? f[c.dod].trim() : '';
        const deceased = dod === '' ? undefined : dateOnly(dod);
        if (dod !== '' && !deceased) this.report.warn(table, 'unparseable dod', line);

        const last = this.lastAdmission.get(subject);
        const extension: Extension[] = [];
        const race = last ? raceExtension(last.race) : undefined;
        if (race) extension.push(race);
        const ethnicity = last ? ethnicityExtension(last.race) : undefined;
        if (ethnicity) extension.push(ethnicity);
        const lang = last ? language(last.language) : undefined;

        this.writers.Patient.add({
          resourceType: 'Patient',
          id: this.patientId(subject),
          meta: { profile: PROFILE.patient },
          extension: extension.length > 0 ? extension : undefined,
          identifier: [{ system: `${MIMIC_IDENTIFIER}/patient`, value: subject }],
          name: [{ use: 'official', family: `Patient_${subject}` }],
          gender: gender(f[c.gender]),
          birthDate,
          deceasedDateTime: deceased,
          maritalStatus: last ? maritalStatus(last.maritalStatus) : undefined,
          communication: lang ? [{ language: lang }] : undefined,
        });
      } };
    });
    let missing = 0;
    for (const subject of this.lastAdmission.keys()) if (!this.patientsInTable.has(subject)) missing++;
    for (let i = 0; i < missing; i++) this.report.warn('admissions', 'subject_id not in patients (Encounter.subject dangles)', 0);
  }

  private async titlesTable(file: string, kind: 'dx' | 'px'): Promise<void> {
    const table = kind === 'dx' ? 'd_icd_diagnoses' : 'd_icd_procedures';
    await this.stream(table, file, (header) => {
      const code = header.includes('icd_code') ? 'icd_code' : 'icd9_code';
      const c = columnIndex(file, header, [code, 'long_title'] as const, ['icd_version'] as const);
      return { columns: c, row: (f) => {
        const version = c.icd_version >= 0 ? f[c.icd_version].trim() : '9';
        // Only ICD-9 and ICD-10 titles can be looked up: event rows of other versions are dropped.
        const titles = version === '9' ? (kind === 'dx' ? this.titles.dx9 : this.titles.px9)
          : version === '10' ? (kind === 'dx' ? this.titles.dx10 : this.titles.px10) : undefined;
        titles?.set(undotCode(f[c[code]]), f[c.long_title].trim());
      } };
    });
  }

  private async diagnosesTable(file: string): Promise<void> {
    const table = 'diagnoses_icd';
    const repeats = new HashRepeatCounter();
    await this.stream(table, file, (header) => {
      const code = this.isIV ? 'icd_code' : 'icd9_code';
      const c = columnIndex(file, header, ['subject_id', 'hadm_id', 'seq_num', code] as const, ['icd_version'] as const);
      if (this.isIV && c.icd_version < 0) throw new CliError(`${file}:1: missing column 'icd_version'`);
      return { columns: c, row: (f, line) => {
        const subject = f[c.subject_id].trim();
        const icd = undotCode(f[c[code]]);
        if (subject === '') return this.report.drop(table, 'missing subject_id', line);
        if (icd === '') return this.report.drop(table, 'diagnosis without icd code', line);
        const version = this.isIV ? f[c.icd_version].trim() : '9';
        if (version !== '9' && version !== '10') return this.report.drop(table, 'icd_version neither 9 nor 10', line);
        const hadm = f[c.hadm_id].trim();
        const id = this.eventId('Condition', `${hadm}-${f[c.seq_num].trim()}-${icd}`, repeats);
        const display = (version === '9' ? this.titles.dx9 : this.titles.dx10).get(icd);
        const local: CodingParts = { system: version === '9' ? MIMIC_SYSTEM.diagnosisIcd9 : MIMIC_SYSTEM.diagnosisIcd10, code: icd, display };
        const standard: CodingParts = version === '9'
          ? { system: SYSTEM.icd9cm, code: dotIcd9Diagnosis(icd), display }
          : { system: SYSTEM.icd10cm, code: dotIcd10cm(icd), display };
        this.writers.Condition.addLine(conditionJson(id, local, standard, this.eventPatientId(subject, table, line), this.encounterId(hadm, table, line)));
      } };
    });
  }

  private async proceduresTable(file: string): Promise<void> {
    const table = 'procedures_icd';
    const repeats = new HashRepeatCounter();
    await this.stream(table, file, (header) => {
      const code = this.isIV ? 'icd_code' : 'icd9_code';
      const c = columnIndex(file, header, ['subject_id', 'hadm_id', 'seq_num', code] as const, ['icd_version', 'chartdate'] as const);
      if (this.isIV && c.icd_version < 0) throw new CliError(`${file}:1: missing column 'icd_version'`);
      return { columns: c, row: (f, line) => {
        const subject = f[c.subject_id].trim();
        const icd = undotCode(f[c[code]]);
        if (subject === '') return this.report.drop(table, 'missing subject_id', line);
        if (icd === '') return this.report.drop(table, 'procedure without icd code', line);
        const version = this.isIV ? f[c.icd_version].trim() : '9';
        if (version !== '9' && version !== '10') return this.report.drop(table, 'icd_version neither 9 nor 10', line);
        const hadm = f[c.hadm_id].trim();
        const id = this.eventId('Procedure', `${hadm}-${f[c.seq_num].trim()}-${icd}`, repeats);
        const display = (version === '9' ? this.titles.px9 : this.titles.px10).get(icd);
        const local: CodingParts = { system: version === '9' ? MIMIC_SYSTEM.procedureIcd9 : MIMIC_SYSTEM.procedureIcd10, code: icd, display };
        const standard: CodingParts = version === '9'
          ? { system: SYSTEM.icd9cm, code: dotIcd9Procedure(icd), display }
          : { system: SYSTEM.icd10pcs, code: undotCode(icd), display };
        // MIMIC-IV has chartdate; MIMIC-III procedures carry no date, so the admission time stands in.
        const performed = c.chartdate >= 0
          ? this.dateTime(f[c.chartdate], table, 'chartdate', line)
          : this.admissions.get(hadm)?.admitted;
        this.writers.Procedure.addLine(
          procedureJson(id, local, standard, this.eventPatientId(subject, table, line), this.encounterId(hadm, table, line), performed),
        );
      } };
    });
  }

  private async prescriptionsTable(file: string): Promise<void> {
    const table = 'prescriptions';
    const repeats = new HashRepeatCounter();
    await this.stream(table, file, (header) => {
      const c = columnIndex(file, header, ['subject_id', 'hadm_id', 'drug', 'formulary_drug_cd', 'gsn', 'ndc', 'prod_strength', 'dose_val_rx', 'dose_unit_rx', 'route'] as const,
        ['pharmacy_id', 'row_id', 'starttime', 'stoptime', 'startdate', 'enddate'] as const);
      const startCol = c.starttime >= 0 ? c.starttime : c.startdate;
      const stopCol = c.stoptime >= 0 ? c.stoptime : c.enddate;
      const startName = c.starttime >= 0 ? 'starttime' : 'startdate';
      const stopName = c.stoptime >= 0 ? 'stoptime' : 'enddate';
      if (startCol < 0 || stopCol < 0) throw new CliError(`${file}:1: missing column 'starttime'/'startdate' or 'stoptime'/'enddate'`);
      if (this.isIV ? c.pharmacy_id < 0 : c.row_id < 0) throw new CliError(`${file}:1: missing column '${this.isIV ? 'pharmacy_id' : 'row_id'}'`);
      let last = { drug: '', formulary: '', ndc: '', gsn: '', medicationId: '' }; // never matches: such rows are dropped
      return { columns: c, row: (f, line) => {
        const subject = f[c.subject_id].trim();
        if (subject === '') return this.report.drop(table, 'missing subject_id', line);
        const drug = f[c.drug].trim();
        const formulary = f[c.formulary_drug_cd].trim();
        const ndc = f[c.ndc].trim();
        const gsn = f[c.gsn].trim();
        const hasNdc = ndc !== '' && ndc !== '0';
        if (drug === '' && formulary === '' && !hasNdc && gsn === '') return this.report.drop(table, 'prescription without drug name or code', line);
        const hadm = f[c.hadm_id].trim();

        // Most rows repeat the previous row's medication (MIMIC lists an order's doses together):
        // comparing four strings is cheaper than building and hashing the key.
        let medicationId: string;
        if (drug === last.drug && formulary === last.formulary && ndc === last.ndc && gsn === last.gsn) {
          medicationId = last.medicationId;
        } else {
          const medKey = `${drug}|${formulary}|${ndc}|${gsn}`;
          let known = this.medications.get(medKey);
          if (known === undefined) {
            known = this.ids.id('Medication', medKey);
            this.medications.set(medKey, known);
            this.writers.Medication.add(medicationResource(known, drug, formulary, ndc, hasNdc, gsn));
          }
          medicationId = known;
          last = { drug, formulary, ndc, gsn, medicationId };
        }

        // MIMIC-IV pharmacy_id repeats across the rows of a multi-drug order, so the drug joins the key;
        // MIMIC-III has a row_id per row.
        let id: string;
        let identifierValue: string;
        if (this.isIV) {
          identifierValue = f[c.pharmacy_id].trim();
          id = this.eventId('MedicationRequest', `${subject}-${hadm}-${identifierValue}-${drug}`, repeats);
        } else {
          identifierValue = f[c.row_id].trim();
          id = this.eventId('MedicationRequest', identifierValue, repeats);
        }
        const start = this.dateTime(f[startCol], table, startName, line);
        const stop = this.dateTime(f[stopCol], table, stopName, line);
        if (hadm === '') this.report.warn(table, 'no hadm_id (MedicationRequest without encounter)', line);

        this.writers.MedicationRequest.addLine(medicationRequestJson({
          id,
          identifierSystem: this.isIV ? MEDICATION_REQUEST_IDENTIFIER.pharmacyId : MEDICATION_REQUEST_IDENTIFIER.rowId,
          identifierValue,
          // prescriptions carry no order status: a stop time means the order ran its course.
          status: stop ? 'completed' : 'unknown',
          medicationId,
          drug,
          patientId: this.eventPatientId(subject, table, line),
          encounterId: hadm === '' ? undefined : this.encounterId(hadm, table, line),
          start,
          stop,
          strength: f[c.prod_strength].trim(),
          route: f[c.route].trim(),
          dose: parseDose(f[c.dose_val_rx], f[c.dose_unit_rx]),
        }));
      } };
    });
  }

  // ---- helpers ------------------------------------------------------------------------------

  private patientId(subject: string): string {
    let id = this.patientIds.get(subject);
    if (id === undefined) {
      id = this.ids.id('Patient', subject);
      this.patientIds.set(subject, id);
    }
    return id;
  }

  /** Patient id for an event row; warns when the subject has no patients row (the reference would dangle). */
  private eventPatientId(subject: string, table: string, line: number): string {
    // Event tables list a patient's rows together: remember the last (known) subject's id.
    if (subject === this.lastEvent.subject) return this.lastEvent.patientId;
    if (!this.patientsInTable.has(subject)) {
      this.report.warn(table, 'subject_id not in patients (subject reference dangles)', line);
      return this.ids.id('Patient', subject);
    }
    const id = this.patientId(subject);
    this.lastEvent.subject = subject;
    this.lastEvent.patientId = id;
    return id;
  }

  private encounterId(hadm: string, table: string, line: number): string | undefined {
    if (hadm === '') {
      if (table !== 'prescriptions') this.report.warn(table, 'no hadm_id (resource without encounter)', line);
      return undefined;
    }
    if (hadm === this.lastEvent.hadm) return this.lastEvent.encounterId;
    const admission = this.admissions.get(hadm);
    if (!admission) {
      this.report.warn(table, 'hadm_id not in admissions (encounter left out)', line);
      return undefined;
    }
    this.lastEvent.hadm = hadm;
    this.lastEvent.encounterId = admission.encounterId;
    return admission.encounterId;
  }

  /** Id from the source key; a key seen before in this table gets its repeat ordinal appended, so ids stay unique. */
  private eventId(type: MimicResourceType, key: string, repeats: HashRepeatCounter): string {
    const id = this.ids.id(type, key);
    const n = repeats.add(this.ids.lastHash32(type));
    return n === 0 ? id : this.ids.id(type, `${key}${REPEAT_SEPARATOR}${n}`);
  }

  private dateTime(value: string, table: string, column: string, line: number): string | undefined {
    if (value === '') return undefined;
    const v = toFhirDateTime(value);
    if (v === undefined) this.report.warn(table, `unparseable ${column}`, line);
    return v;
  }

  private async writeReport(resources: Record<MimicResourceType, number>): Promise<void> {
    const l = this.layout;
    const tables = Object.fromEntries(
      (Object.entries(l.tables) as Array<[keyof MimicTables, string]>).map(([, file]) => {
        const name = tableName(file);
        return [name, { file: path.relative(l.sourceDir, file), rows: this.rows[name] ?? 0 }];
      }),
    );
    const report = {
      source: { dataset: l.dataset, version: l.version ?? null, title: l.title ?? null, path: l.sourceDir },
      tables,
      resources,
      droppedRows: this.report.droppedCount(),
      dropped: this.report.droppedList(),
      warnings: this.report.warningList(),
      ids: {
        scheme: 'uuid-v5',
        namespaces: Object.fromEntries(MIMIC_RESOURCE_TYPES.map((t) => [t, MimicIds.namespaceOf(l.dataset, t)])),
      },
    };
    await fs.writeFile(path.join(this.dir, REPORT_FILE), `${JSON.stringify(report, null, 2)}\n`);
    const licenseText = l.licenseFile ? await fs.readFile(l.licenseFile, 'utf8').catch(() => '') : '';
    const odbl = licenseText.includes('Open Database License');
    const provenance = {
      source: { dataset: l.dataset, version: l.version ?? null, title: l.title ?? null, path: l.sourceDir },
      license: odbl
        ? { id: 'ODbL-1.0', name: 'Open Data Commons Open Database License v1.0', file: 'LICENSE.txt', shareAlike: true }
        : { id: null, note: 'no LICENSE file recognised in the source folder; MIMIC releases are ODbL-1.0 (demo) or PhysioNet credentialed' },
      attribution: l.provenanceFile ? await attributionFrom(l.provenanceFile) : `${l.dataset}${l.version ? ` v${l.version}` : ''}, MIT Laboratory for Computational Physiology, PhysioNet`,
      derivedBy: 'leader mimic-to-fhir (MIMIC-IV on FHIR conventions, kind-lab/mimic-fhir; see conversion-report.json)',
      rows: Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, v.rows])),
      resources,
    };
    await fs.writeFile(path.join(this.dir, PROVENANCE_FILE), `${JSON.stringify(provenance, null, 2)}\n`);
  }

  private async copyLicense(): Promise<boolean> {
    if (!this.layout.licenseFile) return false;
    await fs.copyFile(this.layout.licenseFile, path.join(this.dir, 'LICENSE.txt'));
    await fs.chmod(path.join(this.dir, 'LICENSE.txt'), 0o644); // the shared copy is read-only; the output must stay replaceable
    return true;
  }
}

function tableName(file: string): string {
  return path.basename(file).toLowerCase().replace(/\.csv(\.gz)?$/, '');
}

/**
 * MIMIC-IV keeps only anchor_age (age in anchor_year). A birth date of 1 January of
 * (anchor_year − anchor_age) makes the whole-year age at any admission in year Y exactly
 * anchor_age + (Y − anchor_year), the age MIMIC implies, without inventing a birthday.
 */
export function ivBirthDate(anchorAge: string, anchorYear: string): string | undefined {
  const age = Number(anchorAge.trim());
  const year = Number(anchorYear.trim());
  if (anchorAge.trim() === '' || anchorYear.trim() === '' || !Number.isInteger(age) || !Number.isInteger(year)) return undefined;
  const birthYear = year - age;
  if (birthYear < 1 || birthYear > 9999) return undefined;
  return `${String(birthYear).padStart(4, '0')}-01-01`;
}

/**
 * One Medication per distinct (drug, formulary_drug_cd, ndc, gsn). Unlike MIMIC-on-FHIR's single
 * coding, every available code is kept (local NDC and the standard 11-digit NDC, each GSN, formulary
 * code, name), so matching can use whichever a consumer knows.
 */
function medicationResource(id: string, drug: string, formulary: string, ndc: string, hasNdc: boolean, gsn: string): object {
  const coding: Coding[] = [];
  if (hasNdc) {
    coding.push({ system: MIMIC_SYSTEM.medicationNdc, code: ndc });
    const standard = ndc11(ndc);
    if (standard) coding.push({ system: SYSTEM.ndc, code: standard });
  }
  if (gsn !== '') {
    // MIMIC-IV gsn may hold several space-separated GSNs.
    for (const g of gsn.split(' ')) if (g !== '') coding.push({ system: MIMIC_SYSTEM.medicationGsn, code: g });
  }
  if (formulary !== '') coding.push({ system: MIMIC_SYSTEM.medicationFormulary, code: formulary });
  if (drug !== '') coding.push({ system: MIMIC_SYSTEM.medicationName, code: drug });
  return {
    resourceType: 'Medication',
    id,
    meta: { profile: PROFILE.medication },
    code: { coding, text: drug || undefined },
    status: 'active',
  };
}

/** The "Dataset / original publisher" paragraph of a PROVENANCE.md, markdown stripped, as one line. */
async function attributionFrom(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /dataset|publisher/i.test(l) && l.trim().startsWith('-'));
  if (start < 0) return lines.find((l) => l.startsWith('#'))?.replace(/^#+\s*/, '') ?? path.basename(path.dirname(file));
  const parts = [lines[start]];
  for (let i = start + 1; i < lines.length && /^\s+\S/.test(lines[i]) && !lines[i].trim().startsWith('-'); i++) parts.push(lines[i]);
  return parts.map((p) => p.trim()).join(' ').replace(/^-\s*/, '').replace(/\*\*/g, '').replace(/\s+/g, ' ').trim();
}
