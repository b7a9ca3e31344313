import type { PatientResources } from '../../fhir/fhir-source.types';
import type { TerminologyLookup } from '../../terminology/terminology.types';
import type { PatientTimeline } from '../../timeline/timeline.types';

/** The loaded terminology (TerminologyLookup), provided by the app module. */
export const TERMINOLOGY = Symbol('TERMINOLOGY');
/** `buildTimeline` of src/timeline, provided by the app module (the one feature path of training and serving). */
export const TIMELINE_BUILDER = Symbol('TIMELINE_BUILDER');
export type TimelineBuilder = (resources: PatientResources, terminology: TerminologyLookup) => PatientTimeline;
