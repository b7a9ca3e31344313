import { BadRequestException, ForbiddenException, HttpException, HttpStatus, Inject, Injectable, NotFoundException, PayloadTooLargeException, UnprocessableEntityException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger';
import { operationOutcome } from '../common/operation-outcome';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { StudentModel } from '../inference/student-model';
import type { TerminologyLookup } from '../terminology/terminology.types';
import { buildCards, type IssuedSuggestion } from './cards/card.builder';
import type { CdsCard, CdsRequest, CdsResponse } from './cds-hooks.types';
import { CdsServicesRegistry, DEFAULT_PREFETCH, type PrefetchKey } from './cds-services.registry';
import { PrefetchInvalidError, PrefetchResolver, PrefetchTooLargeError, PrefetchUnavailableError } from './prefetch/prefetch.resolver';
import { IssuedSuggestions } from './serving/issued-suggestions';
import { loadModelExtras, PRODUCTS_FILE } from './serving/model-extras';
import { RecommendationEngine, type RecommendationReview } from './serving/recommendation.engine';
import { TERMINOLOGY, TIMELINE_BUILDER, TimelineBuilder } from './serving/serving.tokens';
import { TimelineLimitError, TimelineLimits } from '../timeline/timeline';
import { warmUpRequest } from './serving/warm-up.request';

/**
 * One service call: prefetch → PatientResources (+ draft orders) → RecommendationEngine (timeline,
 * target visit, student sample and its occlusion variants in one batch, recommendation) → cards.
 */
@Injectable()
export class CdsHooksService {
  private readonly engine: RecommendationEngine;
  /** One-click suggestions issued, so feedback can name the class and product. */
  readonly issued = new IssuedSuggestions();

  constructor(
    private readonly registry: CdsServicesRegistry,
    private readonly prefetch: PrefetchResolver,
    private readonly model: StudentModel,
    @Inject(TERMINOLOGY) private readonly terminology: TerminologyLookup,
    @Inject(TIMELINE_BUILDER) private readonly buildTimeline: TimelineBuilder,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    const extras = loadModelExtras(model.dir, model.manifest);
    if (!extras.trainingProducts) logger.warn({ modelDir: model.dir }, `model folder has no ${PRODUCTS_FILE}: suggestion products come from the patient's history only (retrain with \`leader train\` to add it)`);
    this.engine = new RecommendationEngine(model, terminology, buildTimeline, extras, {
      currentMedicationDays: config.currentMedicationDays,
      timelineLimits: { maxVisits: config.maxVisits, maxCodesPerVisit: config.maxCodesPerVisit, maxMedicationParts: config.maxMedicationParts },
    });
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

  /**
   * Prefetch (or fetch through fhirServer with fhirAuthorization) → RecommendationEngine: the one path
   * from a request to a recommendation, for hooks and the app API alike. Errors are HTTP exceptions
   * with OperationOutcomes (412 data unavailable, 400 invalid, 413/422 too large).
   */
  async review(request: CdsRequest, templates: Record<PrefetchKey, string>, logFields: Record<string, unknown> = {}, opts: { apiErrors?: boolean } = {}): Promise<RecommendationReview> {
    let resolved;
    try {
      resolved = await this.prefetch.resolve(request, templates);
    } catch (e) {
      if (e instanceof PrefetchUnavailableError) {
        logFields.prefetchFailed = e.failures.map((f) => f.key);
        // The app API acts with the user's own token: the FHIR server's refusal is the answer, passed on;
        // a patient the server does not hold is a 404, not missing data.
        const refused = e.failures.filter((f) => f.status === 401 || f.status === 403);
        if (opts.apiErrors && refused.length > 0) {
          throw new ForbiddenException(operationOutcome('forbidden', refused.map((f) => `the FHIR server refused '${f.key}' (${f.template}): ${f.reason}`)));
        }
        const patientMissing = e.failures.find((f) => f.key === 'patient' && (f.status === 404 || f.status === 410));
        if (opts.apiErrors && patientMissing) {
          throw new NotFoundException(operationOutcome('not-found', [`patient not found on the FHIR server: ${patientMissing.reason}`]));
        }
        throw new HttpException(operationOutcome('incomplete', e.failures.map((f) => `prefetch key '${f.key}' (${f.template}): ${f.reason}`)), HttpStatus.PRECONDITION_FAILED);
      }
      if (e instanceof PrefetchInvalidError) throw new BadRequestException(e.message);
      if (e instanceof PrefetchTooLargeError) throw new PayloadTooLargeException(operationOutcome('too-costly', [e.message]));
      throw e;
    }
    logFields.fetched = Object.entries(resolved.sources).filter(([, s]) => s === 'fetched').map(([k]) => k);

    const draftOrders = request.hook === 'patient-view' ? undefined : request.context.draftOrders;
    try {
      return await this.engine.review({
        hook: request.hook,
        resources: resolved.resources,
        medicationStatements: resolved.medicationStatements,
        ...(request.context.encounterId ? { encounterId: request.context.encounterId } : {}),
        ...(draftOrders ? { draftOrders } : {}),
        ...(request.hook === 'order-select' && Array.isArray(request.context.selections) ? { selections: request.context.selections } : {}),
      }, new Date());
    } catch (e) {
      if (e instanceof TimelineLimitError) {
        throw new UnprocessableEntityException(operationOutcome('too-costly', [`${e.message}: limit ${LIMIT_SETTING[e.limit]}=${e.max}`]));
      }
      throw e;
    }
  }

  /**
   * review → cards, as a hook answers (the FHIR Subscriptions write-back maps these same cards to a
   * RequestGroup). `baseUrl`: the service's public base (model-card links in card sources).
   */
  async cardsFor(request: CdsRequest, templates: Record<PrefetchKey, string>, baseUrl: string, logFields: Record<string, unknown> = {}): Promise<{ review: RecommendationReview; cards: CdsCard[]; issued: IssuedSuggestion[] }> {
    const review = await this.review(request, templates, logFields);
    const { result } = review;
    const manifest = this.model.manifest;
    const issued: IssuedSuggestion[] = [];
    const cards = buildCards(result, {
      hook: request.hook,
      patientId: request.context.patientId,
      ...(request.context.encounterId ? { encounterId: request.context.encounterId } : {}),
      source: { label: `${manifest.name} ${manifest.version}`, url: `${baseUrl}/models/${encodeURIComponent(manifest.name)}` },
      newUuid: randomUUID,
      smartApp: { launchUrl: `${baseUrl}/smart/launch`, hookInstance: request.hookInstance, model: { name: manifest.name, version: manifest.version } },
      ...(caveatOf(manifest.limits, manifest.training?.scale) ? { caveat: caveatOf(manifest.limits, manifest.training?.scale) } : {}),
    }, issued);
    logFields.cards = cards.length;
    // Counts only (no drug names: they are patient data): orders the model could not class.
    logFields.notAssessed = { recorded: result.notAssessed.reduce((n, m) => n + m.orders, 0), drafted: result.drafted.filter((d) => d.classes.length === 0).length };
    return { review, cards, issued };
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

    const { cards, issued } = await this.cardsFor(request, { ...DEFAULT_PREFETCH, ...descriptor.prefetch }, baseUrl, logFields);
    for (const card of cards) {
      const mine = issued.filter((i) => card.suggestions?.some((s) => s.uuid === i.uuid));
      if (card.uuid) this.issued.remember(card.uuid, mine);
    }
    return { cards };
  }
}

/** The setting behind each timeline limit, named in the 422. */
const LIMIT_SETTING: Record<keyof TimelineLimits, string> = { maxVisits: 'CDS_MAX_VISITS', maxCodesPerVisit: 'CDS_MAX_CODES_PER_VISIT', maxMedicationParts: 'CDS_MAX_MEDICATION_PARTS' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function caveatOf(limits: string[] | undefined, scale: string | undefined): string | undefined {
  const first = limits?.find((l) => typeof l === 'string' && l.trim() !== '');
  const text = first ?? scale;
  return text ? `Model limits: ${text}` : undefined;
}
