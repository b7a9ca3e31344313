import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, NotFoundException, PayloadTooLargeException, UnprocessableEntityException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { operationOutcome } from '../common/operation-outcome';
import { StudentModel } from '../inference/student-model';
import { buildStudentBatch } from '../leader/tensors/student-batch';
import { buildStudentSample, withCodedVisits } from '../leader/tensors/student-sample';
import { DEFAULT_MAX_VISITS } from '../leader/tensors/student-input.types';
import { Vocabulary } from '../leader/tensors/vocabulary';
import { DdiIndex } from '../recommend/ddi-index';
import { recommend } from '../recommend/recommend';
import type { TerminologyLookup } from '../terminology/terminology.types';
import { buildCards } from './cards/card.builder';
import type { CdsRequest, CdsResponse } from './cds-hooks.types';
import { CdsServicesRegistry, DEFAULT_PREFETCH } from './cds-services.registry';
import { PrefetchInvalidError, PrefetchResolver, PrefetchTooLargeError, PrefetchUnavailableError } from './prefetch/prefetch.resolver';
import { draftMedications, targetVisitOf } from './serving/current-visit';
import { runYielding, TERMINOLOGY, TIMELINE_BUILDER, TimelineBuilder } from './serving/serving.tokens';
import { TimelineLimitError, TimelineLimits } from '../timeline/timeline';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';

/**
 * One service call: prefetch → PatientResources (+ draft orders) → timeline → target visit →
 * student sample → StudentModel.predict (batch of 1) → recommendation → cards.
 */
@Injectable()
export class CdsHooksService {
  private readonly vocab: Vocabulary;
  private readonly ddi: DdiIndex;
  private readonly maxVisits: number;

  constructor(
    private readonly registry: CdsServicesRegistry,
    private readonly prefetch: PrefetchResolver,
    private readonly model: StudentModel,
    @Inject(TERMINOLOGY) private readonly terminology: TerminologyLookup,
    @Inject(TIMELINE_BUILDER) private readonly buildTimeline: TimelineBuilder,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.vocab = Vocabulary.fromJSON(model.vocab, `${model.dir}/vocab.json`);
    this.ddi = DdiIndex.fromIndexPairs(model.ddi.labels, model.ddi.pairs);
    this.maxVisits = model.manifest.io?.maxVisits ?? DEFAULT_MAX_VISITS;
  }

  discovery() {
    return { services: this.registry.services };
  }

  /** `baseUrl`: the service's public base (for the model-card link in card sources). */
  async call(serviceId: string, request: CdsRequest, baseUrl: string, logFields: Record<string, unknown> = {}): Promise<CdsResponse> {
    const descriptor = this.registry.get(serviceId);
    if (!descriptor) throw new NotFoundException(`No CDS service '${serviceId}'`);
    if (request.hook !== descriptor.hook) {
      throw new BadRequestException(`hook '${request.hook}' does not match service '${serviceId}', which answers '${descriptor.hook}'`);
    }
    logFields.hook = request.hook;
    // Logged only in its validated form: a UUID, as CDS Hooks clients send (never free text that could hold patient data).
    logFields.hookInstance = UUID.test(request.hookInstance) ? request.hookInstance : '(not a UUID)';

    let resolved;
    try {
      resolved = await this.prefetch.resolve(request, { ...DEFAULT_PREFETCH, ...descriptor.prefetch });
    } catch (e) {
      if (e instanceof PrefetchUnavailableError) {
        logFields.prefetchFailed = e.failures.map((f) => f.key);
        throw new HttpException(operationOutcome('incomplete', e.failures.map((f) => `prefetch key '${f.key}' (${f.template}): ${f.reason}`)), HttpStatus.PRECONDITION_FAILED);
      }
      if (e instanceof PrefetchInvalidError) throw new BadRequestException(e.message);
      if (e instanceof PrefetchTooLargeError) throw new PayloadTooLargeException(operationOutcome('too-costly', [e.message]));
      throw e;
    }
    logFields.fetched = Object.entries(resolved.sources).filter(([, s]) => s === 'fetched').map(([k]) => k);

    const draftOrders = request.hook === 'patient-view' ? undefined : request.context.draftOrders;
    const drafts = draftMedications(draftOrders, resolved.resources.medications, this.terminology);
    await nextTurn();
    let timeline;
    try {
      timeline = await runYielding(this.buildTimeline(resolved.resources, this.terminology, {
        limits: { maxVisits: this.config.maxVisits, maxCodesPerVisit: this.config.maxCodesPerVisit, maxMedicationParts: this.config.maxMedicationParts },
      }));
    } catch (e) {
      if (e instanceof TimelineLimitError) {
        throw new UnprocessableEntityException(operationOutcome('too-costly', [`${e.message}: limit ${LIMIT_SETTING[e.limit]}=${e.max}`]));
      }
      throw e;
    }
    await nextTurn();
    const target = targetVisitOf(timeline, request.context.encounterId, drafts, resolved.resources.patient.birthDate, new Date());
    const window = withCodedVisits(target.timeline, target.index);
    const sample = buildStudentSample(window.timeline, window.targetVisitIndex, this.vocab, this.maxVisits);
    const prediction = await this.model.predict(buildStudentBatch([sample]));

    const manifest = this.model.manifest;
    const recommendation = recommend({
      labels: manifest.labels,
      probs: prediction.probs,
      threshold: manifest.threshold,
      orderedAtc3: target.orderedAtc3,
      draftedAtc3: target.draftedAtc3,
      ddi: this.ddi,
      className: (atc3) => manifest.labelNames?.[atc3] ?? this.terminology.atc3Name(atc3),
      priorVisits: window.targetVisitIndex,
    });
    const cards = buildCards(recommendation, {
      hook: request.hook,
      patientId: request.context.patientId,
      ...(request.context.encounterId ? { encounterId: request.context.encounterId } : {}),
      source: { label: `${manifest.name} ${manifest.version}`, url: `${baseUrl}/models/${encodeURIComponent(manifest.name)}` },
      newUuid: randomUUID,
      ...(caveatOf(manifest.limits, manifest.training?.scale) ? { caveat: caveatOf(manifest.limits, manifest.training?.scale) } : {}),
    });
    logFields.cards = cards.length;
    return { cards };
  }
}

/** The setting behind each timeline limit, named in the 422. */
const LIMIT_SETTING: Record<keyof TimelineLimits, string> = { maxVisits: 'CDS_MAX_VISITS', maxCodesPerVisit: 'CDS_MAX_CODES_PER_VISIT', maxMedicationParts: 'CDS_MAX_MEDICATION_PARTS' };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function caveatOf(limits: string[] | undefined, scale: string | undefined): string | undefined {
  const first = limits?.find((l) => typeof l === 'string' && l.trim() !== '');
  const text = first ?? scale;
  return text ? `Model limits: ${text}` : undefined;
}
