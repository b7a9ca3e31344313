import { jsonPath } from '../../common/json-body';

/**
 * JSON-type checks of the FHIR fields the service reads (prefetch, draft orders, fetched data).
 * FHIR resources are not validated field by field (the Sandbox sends R4 deviations, cds-fhir.md
 * §1.12), but every field that the timeline, the draft-order reader or the prefetch resolver indexes
 * into must have the JSON type it is read as; anything else is named by its path
 * (`prefetch.conditions.entry[3].resource.code.coding[0].code must be a string`) instead of
 * failing deep inside the pipeline. Unknown fields are left alone.
 */

type Shape =
  | 'string'
  | 'boolean'
  | 'number'
  | { obj: Record<string, Shape | (() => Shape)> }
  | { arr: Shape | (() => Shape); max?: number }
  /** An array, or (the Sandbox's deviation) a single value. */
  | { arrOrOne: Shape | (() => Shape) };

const coding: Shape = { obj: { system: 'string', code: 'string', display: 'string' } };
/** Array bounds where a reader's work grows faster than the array (medication descriptions follow ingredients). */
const MAX_CODINGS = 50;
const MAX_MEDICATION_ITEMS = 20;
const concept: Shape = { obj: { coding: { arr: coding, max: MAX_CODINGS }, text: 'string' } };
const reference: Shape = { obj: { reference: 'string', display: 'string' } };
const period: Shape = { obj: { start: 'string', end: 'string' } };
const extension = (): Shape => ({
  obj: { url: 'string', valueString: 'string', valueCode: 'string', valueCodeableConcept: concept, valueCoding: coding, extension: { arr: extension } },
});
const base = { resourceType: 'string', id: 'string', subject: reference, patient: reference, encounter: reference, extension: { arr: extension } } as const;

/** A contained resource: a Medication is read like one in a Bundle. */
const CONTAINED = (): Shape => ({ obj: { resourceType: 'string', id: 'string', code: concept, identifier: { arr: { obj: { system: 'string', value: 'string' } }, max: MAX_MEDICATION_ITEMS }, ingredient: { arr: { obj: { itemCodeableConcept: concept, itemReference: reference } }, max: MAX_MEDICATION_ITEMS } } });

/** The shapes by resourceType; other resource types are only checked for resourceType and id. */
const RESOURCE: Record<string, Shape> = {
  Patient: {
    obj: {
      ...base, birthDate: 'string', gender: 'string', maritalStatus: concept,
      communication: { arr: { obj: { language: concept, preferred: 'boolean' } } },
    },
  },
  Encounter: { obj: { ...base, status: 'string', period, partOf: reference, type: { arr: concept }, class: coding } },
  Condition: {
    obj: {
      ...base, verificationStatus: concept, category: { arr: concept }, code: concept,
      onsetDateTime: 'string', onsetPeriod: period, recordedDate: 'string',
    },
  },
  Procedure: { obj: { ...base, status: 'string', code: concept, performedDateTime: 'string', performedPeriod: period } },
  MedicationRequest: {
    obj: {
      ...base, status: 'string', authoredOn: 'string', medicationCodeableConcept: concept, medicationReference: reference,
      dispenseRequest: { obj: { validityPeriod: period } }, reasonCode: { arrOrOne: concept }, contained: { arr: CONTAINED, max: MAX_MEDICATION_ITEMS },
    },
  },
  Medication: {
    obj: {
      ...base, code: concept, identifier: { arr: { obj: { system: 'string', value: 'string' } }, max: MAX_MEDICATION_ITEMS },
      ingredient: { arr: { obj: { itemCodeableConcept: concept, itemReference: reference } }, max: MAX_MEDICATION_ITEMS },
      contained: { arr: CONTAINED, max: MAX_MEDICATION_ITEMS },
    },
  },
  OperationOutcome: { obj: { ...base, issue: { arr: { obj: { severity: 'string' } } } } },
};
const ANY_RESOURCE: Shape = { obj: { resourceType: 'string', id: 'string' } };
const BUNDLE_LINK: Shape = { arr: { obj: { relation: 'string', url: 'string' } } };

const MAX_PROBLEMS = 20;
const SHAPE_SLICE = 2000;
const MAX_DEPTH = 24;

/** Problems of one resource (a Bundle's entries included), each naming its path under `where`; empty when fine. */
export function resourceShapeProblems(value: unknown, where: string, problems: string[] = []): string[] {
  const steps = resourceShapeSteps(value, where, problems);
  while (!steps.next().done);
  return problems;
}

/** `resourceShapeProblems` in slices: yields every SHAPE_SLICE Bundle entries, so a caller can let other requests run. */
export function* resourceShapeSteps(value: unknown, where: string, problems: string[] = []): Generator<string, string[], void> {
  // The path is a stack of segments joined only when a problem is reported: bundles hold 50,000 resources.
  const at: (string | number)[] = [where];
  const say = (what: string) => problems.push(`${jsonPath(at)} ${what}`);
  if (!isPlainObject(value)) {
    say('must be a FHIR resource (a JSON object)');
    return problems;
  }
  if (typeof value.resourceType !== 'string') {
    at.push('resourceType');
    say('must be a string');
    return problems;
  }
  if (value.resourceType !== 'Bundle') {
    check(value, RESOURCE[value.resourceType] ?? ANY_RESOURCE, at, problems, 0);
    return problems;
  }
  check(value, BUNDLE, at, problems, 0);
  const entry = value.entry;
  if (entry === undefined) return problems;
  at.push('entry');
  if (!Array.isArray(entry)) {
    say('must be an array');
    return problems;
  }
  for (let i = 0; i < entry.length && problems.length < MAX_PROBLEMS; i++) {
    if (i % SHAPE_SLICE === SHAPE_SLICE - 1) yield where;
    const e = entry[i];
    at.push(i);
    if (!isPlainObject(e)) say('must be an object');
    else {
      check(e, BUNDLE_ENTRY, at, problems, 0);
      const r = e.resource;
      if (r !== undefined) {
        at.push('resource');
        if (!isPlainObject(r)) say('must be a FHIR resource (a JSON object)');
        else if (typeof r.resourceType !== 'string') problems.push(`${jsonPath(at)}.resourceType must be a string`);
        // A Bundle inside a Bundle is not what any prefetch template asks for.
        else if (r.resourceType === 'Bundle') say('must not be a Bundle');
        else check(r, RESOURCE[r.resourceType] ?? ANY_RESOURCE, at, problems, 0);
        at.pop();
      }
    }
    at.pop();
  }
  return problems;
}

const BUNDLE: Shape = { obj: { resourceType: 'string', id: 'string', type: 'string', link: BUNDLE_LINK } };
const BUNDLE_ENTRY: Shape = { obj: { fullUrl: 'string', search: { obj: { mode: 'string' } } } };

const keysOf = new WeakMap<object, string[]>();

function check(value: unknown, shape: Shape | (() => Shape), at: (string | number)[], problems: string[], depth: number): void {
  if (problems.length >= MAX_PROBLEMS) return;
  if (typeof shape === 'function') shape = shape();
  if (depth > MAX_DEPTH) {
    problems.push(`${jsonPath(at)} is nested deeper than ${MAX_DEPTH} levels`);
    return;
  }
  if (shape === 'string' || shape === 'boolean' || shape === 'number') {
    if (typeof value !== shape) problems.push(`${jsonPath(at)} must be a ${shape}`);
    return;
  }
  if ('obj' in shape) {
    if (!isPlainObject(value)) {
      problems.push(`${jsonPath(at)} must be an object`);
      return;
    }
    let keys = keysOf.get(shape.obj);
    if (keys === undefined) {
      keys = Object.keys(shape.obj);
      keysOf.set(shape.obj, keys);
    }
    for (const key of keys) {
      const v = value[key];
      if (v === undefined) continue;
      at.push(key);
      check(v, shape.obj[key], at, problems, depth + 1);
      at.pop();
    }
    return;
  }
  const item = 'arr' in shape ? shape.arr : shape.arrOrOne;
  if (!Array.isArray(value)) {
    if ('arrOrOne' in shape) check(value, item, at, problems, depth + 1);
    else problems.push(`${jsonPath(at)} must be an array`);
    return;
  }
  if ('arr' in shape && shape.max !== undefined && value.length > shape.max) {
    problems.push(`${jsonPath(at)} has ${value.length} items; at most ${shape.max} are read`);
    return;
  }
  for (let i = 0; i < value.length && problems.length < MAX_PROBLEMS; i++) {
    at.push(i);
    check(value[i], item, at, problems, depth + 1);
    at.pop();
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
