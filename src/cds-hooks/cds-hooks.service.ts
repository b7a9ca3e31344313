import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, NotFoundException } from '@nestjs/common';
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
import { PrefetchInvalidError, PrefetchResolver, PrefetchUnavailableError } from './prefetch/prefetch.resolver';
import { draftMedications, targetVisitOf } from './serving/current-visit';
import { TERMINOLOGY, TIMELINE_BUILDER, TimelineBuilder } from './serving/serving.tokens';
import { warmUpRequest } from './serving/warm-up.request';

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
  ) {
    this.vocab = Vocabulary.fromJSON(model.vocab, `${model.dir}/vocab.json`);
    this.ddi = DdiIndex.fromIndexPairs(model.ddi.labels, model.ddi.pairs);
    this.maxVisits = model.manifest.io?.maxVisits ?? DEFAULT_MAX_VISITS;
  }

  /**
   * Build what is otherwise built on first use (terminology tables, the first ONNX run, cold code
   * paths) by answering one synthetic call, so the first real call costs what the next ones do.
   */
  async warmUp(): Promise<void> {
    (this.terminology as { warm?: () => unknown }).warm?.();
    const request = warmUpRequest();
    const service = this.registry.services.find((s) => s.hook === request.hook);
    if (service) await this.call(service.id, request, 'http://localhost');
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
    logFields.hookInstance = request.hookInstance;

    let resolved;
    try {
      resolved = await this.prefetch.resolve(request, { ...DEFAULT_PREFETCH, ...descriptor.prefetch });
    } catch (e) {
      if (e instanceof PrefetchUnavailableError) {
        logFields.prefetchFailed = e.failures.map((f) => f.key);
        throw new HttpException(operationOutcome('incomplete', e.failures.map((f) => `prefetch key '${f.key}' (${f.template}): ${f.reason}`)), HttpStatus.PRECONDITION_FAILED);
      }
      if (e instanceof PrefetchInvalidError) throw new BadRequestException(e.message);
      throw e;
    }
    logFields.fetched = Object.entries(resolved.sources).filter(([, s]) => s === 'fetched').map(([k]) => k);

    const draftOrders = request.hook === 'patient-view' ? undefined : request.context.draftOrders;
    const drafts = draftMedications(draftOrders, resolved.resources.medications, this.terminology);
    const timeline = this.buildTimeline(resolved.resources, this.terminology);
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

function caveatOf(limits: string[] | undefined, scale: string | undefined): string | undefined {
  const first = limits?.find((l) => typeof l === 'string' && l.trim() !== '');
  const text = first ?? scale;
  return text ? `Model limits: ${text}` : undefined;
}
