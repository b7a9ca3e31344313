import { nextTurn } from '../../common/next-turn';
import type { PatientResources } from '../../fhir/fhir-source.types';
import type { TerminologyLookup } from '../../terminology/terminology.types';
import type { BuildTimelineOptions } from '../../timeline/timeline';
import type { PatientTimeline } from '../../timeline/timeline.types';

/** The loaded terminology (TerminologyLookup), provided by the app module. */
export const TERMINOLOGY = Symbol('TERMINOLOGY');
/** `timelineStages` of src/timeline, provided by the app module (the one feature path of training and serving). */
export const TIMELINE_BUILDER = Symbol('TIMELINE_BUILDER');
export type TimelineBuilder = (resources: PatientResources, terminology: TerminologyLookup, opts?: BuildTimelineOptions) => Generator<string, PatientTimeline, void>;

/**
 * Runs a staged computation to its end, handing the event loop back at every yield, so a long
 * record never holds up other requests or /health/live for longer than one slice.
 */
export async function runYielding<T>(stages: Generator<string, T, void>): Promise<T> {
  for (;;) {
    const step = stages.next();
    if (step.done) return step.value;
    await nextTurn();
  }
}

export { nextTurn };
