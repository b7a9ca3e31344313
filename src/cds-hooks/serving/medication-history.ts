import type { CodeableConcept, Coding, MedicationRequest, MedicationStatement } from 'fhir/r4';
import type { PatientResources } from '../../fhir/fhir-source.types';
import type { MedicationUse } from '../../recommend/current-medications';
import type { ProductUse } from '../../recommend/product';
import type { ProductCoding } from '../../recommend/recommendation.types';
import { SYSTEM } from '../../terminology/code-systems';
import type { TerminologyLookup } from '../../terminology/terminology.types';
import type { PatientTimeline } from '../../timeline/timeline.types';
import { medicationConceptResolver } from './current-visit';

/** Requests that never happened: neither current nor a product the patient received. */
const VOID_STATUS = new Set(['entered-in-error', 'cancelled', 'draft']);
const VOID_STATEMENT = new Set(['entered-in-error', 'not-taken']);

export interface MedicationHistory {
  /** Every request and statement as a dated, classed use (input of `currentMedications`). */
  uses: MedicationUse[];
  /** Products (RxNorm or NDC) the patient received, by class and date. */
  products: ProductUse[];
}

/**
 * The patient's medication history from MedicationRequests (not drafts) and MedicationStatements,
 * classed to ATC3 through the same terminology as the timeline.
 */
export function medicationHistory(resources: PatientResources, statements: MedicationStatement[], terminology: TerminologyLookup, timeline?: PatientTimeline): MedicationHistory {
  const conceptOf = medicationConceptResolver(resources.medications);
  // The timeline has already classed every request: reuse its classes rather than class them again.
  const classed = new Map<string, string[]>();
  for (const v of timeline?.visits ?? []) for (const m of v.medications) classed.set(m.requestRef, m.atc3);
  const uses: MedicationUse[] = [];
  const products: ProductUse[] = [];
  const add = (concept: CodeableConcept | undefined, source: MedicationUse['source'], status: string, start: string | undefined, end: string | undefined, ref?: string) => {
    const codings = concept?.coding ?? [];
    const drug = drugName(concept);
    if (codings.length === 0 && !drug) return;
    const atc3 = (ref !== undefined ? classed.get(ref) : undefined) ?? terminology.medicationAtc3(codings, drug);
    uses.push({ drug: drug ?? 'unnamed medication', atc3, source, status, ...(start ? { start } : {}), ...(end ? { end } : {}) });
    const coding = productCoding(codings, drug);
    if (coding && atc3.length > 0) products.push({ atc3, coding, ...(start ? { date: start } : {}) });
  };
  for (const mr of resources.medicationRequests) {
    const status = mr.status ?? 'unknown';
    if (VOID_STATUS.has(status)) continue;
    add(conceptOf(mr), 'MedicationRequest', status, mr.authoredOn ?? mr.dispenseRequest?.validityPeriod?.start, requestEnd(mr), mr.id ? `MedicationRequest/${mr.id}` : undefined);
  }
  for (const ms of statements) {
    const status = ms.status ?? 'unknown';
    if (VOID_STATEMENT.has(status)) continue;
    add(conceptOf(ms), 'MedicationStatement', status, ms.effectivePeriod?.start ?? ms.effectiveDateTime ?? ms.dateAsserted, ms.effectivePeriod?.end);
  }
  return { uses, products };
}

function requestEnd(mr: MedicationRequest): string | undefined {
  return mr.dispenseRequest?.validityPeriod?.end
    ?? mr.dosageInstruction?.map((d) => d.timing?.repeat?.boundsPeriod?.end).find((e): e is string => !!e);
}

function drugName(concept: CodeableConcept | undefined): string | undefined {
  const text = concept?.text ?? concept?.coding?.find((c) => c.display)?.display;
  return text?.trim() || undefined;
}

/** The product coding of a medication: RxNorm first, else NDC; display = the drug's name. */
export function productCoding(codings: Coding[], name: string | undefined): ProductCoding | undefined {
  const pick = codings.find((c) => c.system === SYSTEM.rxnorm && c.code) ?? codings.find((c) => c.system === SYSTEM.ndc && c.code);
  if (!pick?.code) return undefined;
  const display = pick.display ?? name;
  return { system: pick.system!, code: pick.code, ...(display ? { display } : {}) };
}
