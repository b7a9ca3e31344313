import { BadRequestException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import type { MedicationRequest } from 'fhir/r4';
import { randomUUID } from 'node:crypto';
import { operationOutcome } from '../common/operation-outcome';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { fhirServerAllowed, normaliseFhirBase } from '../cds-hooks/auth/trusted-clients';
import { CdsHooksService } from '../cds-hooks/cds-hooks.service';
import type { CdsRequest } from '../cds-hooks/cds-hooks.types';
import { DEFAULT_PREFETCH, type PrefetchKey } from '../cds-hooks/cds-services.registry';
import { resourceShapeProblems } from '../cds-hooks/dto/fhir-shape';
import { publicBaseOf } from '../cds-hooks/public-base-url';
import type { RecommendationReview } from '../cds-hooks/serving/recommendation.engine';
import { TERMINOLOGY } from '../cds-hooks/serving/serving.tokens';
import { StudentModel } from '../inference/student-model';
import type { ClassRecommendation } from '../recommend/recommendation.types';
import type { CodeToken, TerminologyLookup } from '../terminology/terminology.types';
import type { RecommendationsRequestDto, RecommendationsResponseDto, LabelDto, VisitDto } from './recommendations.dto';

const API_PAGE_SIZE = 1000;

/**
 * The hooks' default queries, in large pages, with each order's Medication included in the same search:
 * an app's user token reads what an EHR would otherwise send as prefetch, in few round trips.
 */
export const API_QUERIES: Record<PrefetchKey, string> = Object.fromEntries(Object.entries(DEFAULT_PREFETCH).map(([key, query]) => [key,
  key === 'patient' ? query : `${query}${key === 'medicationRequests' ? '&_include=MedicationRequest:medication' : ''}&_count=${API_PAGE_SIZE}`])) as Record<PrefetchKey, string>;

/** The bearer token of a request (the user's SMART access token); 401 without one. Never logged or kept. */
export function bearerTokenOf(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw new UnauthorizedException(operationOutcome('login', ['Authorization: Bearer <the user\'s SMART access token> is required']));
  return match[1];
}

/**
 * `/api/v1/recommendations`: the hooks' own path (CdsHooksService.review: fetch through the FHIR
 * server with the caller's token → timeline → student → recommendation), shaped for apps.
 */
@Injectable()
export class RecommendationsService {
  private readonly allowList: { fhirServers: string[] };

  constructor(
    private readonly cds: CdsHooksService,
    private readonly model: StudentModel,
    @Inject(TERMINOLOGY) private readonly terminology: TerminologyLookup,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.allowList = { fhirServers: config.smartFhirServers.map(normaliseFhirBase).filter((u): u is string => u !== undefined) };
  }

  /** 400 unless `fhirServer` is on SMART_FHIR_SERVERS: checked before any outbound request. */
  checkFhirServer(fhirServer: string): void {
    if (!fhirServerAllowed(this.allowList, fhirServer)) {
      throw new BadRequestException(operationOutcome('invalid', [`fhirServer ${JSON.stringify(fhirServer.slice(0, 200))} is not on this service's FHIR server allow-list (SMART_FHIR_SERVERS)`]));
    }
  }

  async recommend(body: RecommendationsRequestDto, token: string, logFields: Record<string, unknown> = {}): Promise<RecommendationsResponseDto> {
    this.checkFhirServer(body.fhirServer);
    const drafts = (body.draftOrders ?? []).map((d, i) => draftOrderOf(d, i, body.patient));
    const base = {
      hookInstance: randomUUID(),
      fhirServer: body.fhirServer,
      // Only in memory for this call: the FHIR server decides what the user may see.
      fhirAuthorization: { access_token: token, token_type: 'Bearer', expires_in: 0, scope: '', subject: 'smart-app' },
    };
    const context = { userId: 'smart-app', patientId: body.patient, ...(body.encounter ? { encounterId: body.encounter } : {}) };
    const request: CdsRequest = drafts.length > 0
      ? { ...base, hook: 'order-select', context: { ...context, selections: [], draftOrders: { resourceType: 'Bundle', type: 'collection', entry: drafts.map((resource) => ({ resource })) } } }
      : { ...base, hook: 'patient-view', context };
    const review = await this.cds.review(request, API_QUERIES, logFields, { apiErrors: true });
    return this.shape(body.patient, review);
  }

  private shape(patient: string, review: RecommendationReview): RecommendationsResponseDto {
    const { result, timeline, targetVisitIndex } = review;
    const manifest = this.model.manifest;
    const name = (atc3: string) => manifest.labelNames?.[atc3] ?? this.terminology.atc3Name(atc3);
    const named = (c: CodeToken) => ({ code: c.token, system: c.system, ...nameOf(c.display ?? this.terminology.codeTitle(c.token)) });
    return {
      model: { name: manifest.name, version: manifest.version, threshold: result.threshold, card: `${publicBaseOf(this.config)}/models/${encodeURIComponent(manifest.name)}` },
      patient,
      ...(result.deceased ? { deceased: true } : {}),
      labels: result.classes.map((c) => labelOf(c)),
      interactions: result.interactions.map((i) => ({ a: sideOf(i.a), b: sideOf(i.b) })),
      timeline: timeline.visits.map((v, i): VisitDto => ({
        encounter: v.encounterRef,
        ...(v.start ? { start: v.start } : {}),
        ...(v.end ? { end: v.end } : {}),
        target: i === targetVisitIndex,
        diagnoses: v.diagnoses.map(named),
        procedures: v.procedures.map(named),
        medications: v.medications.map((m) => ({
          drug: m.text ?? m.requestRef,
          classes: m.atc3.map((c) => ({ code: c, ...nameOf(name(c)) })),
          ...(m.status ? { status: m.status } : {}),
        })),
      })),
    };
  }
}

function nameOf(name: string | undefined): { name?: string } {
  return name ? { name } : {};
}

function labelOf(c: ClassRecommendation): LabelDto {
  return {
    atc3: c.atc3,
    ...(c.name ? { name: c.name } : {}),
    ...(c.probability !== undefined ? { probability: c.probability } : {}),
    aboveThreshold: c.aboveThreshold,
    status: c.status,
    suggested: c.suggested,
    drugs: c.drugs,
    ...(c.product ? { product: { ...c.product.coding, because: c.product.because } } : {}),
    evidence: c.evidence.map((e) => ({ kind: e.kind, token: e.token, name: e.name, effect: e.effect })),
  };
}

function sideOf(s: { atc3: string; className?: string; drug: string; role: string; ended?: string }) {
  return { atc3: s.atc3, ...(s.className ? { className: s.className } : {}), drug: s.drug, role: s.role, ...(s.ended ? { ended: s.ended } : {}) };
}

/** A draft order of the request: a MedicationRequest of this patient with status draft, or 400 naming what is wrong. */
function draftOrderOf(value: Record<string, unknown>, i: number, patient: string): MedicationRequest {
  const where = `draftOrders[${i}]`;
  if (value === null || typeof value !== 'object' || value.resourceType !== 'MedicationRequest') throw new BadRequestException(operationOutcome('invalid', [`${where} must be a MedicationRequest`]));
  const problems = resourceShapeProblems(value, where);
  if (problems.length > 0) throw new BadRequestException(operationOutcome('invalid', problems.slice(0, 5)));
  const mr = value as unknown as MedicationRequest;
  if (mr.status !== 'draft') throw new BadRequestException(operationOutcome('invalid', [`${where}.status must be draft (an order being written)`]));
  const subject = mr.subject?.reference;
  if (subject !== undefined && subject !== `Patient/${patient}` && !subject.endsWith(`/Patient/${patient}`)) {
    throw new BadRequestException(operationOutcome('invalid', [`${where}.subject is ${subject}, not Patient/${patient}`]));
  }
  return { ...mr, id: mr.id ?? `draft-${i + 1}` };
}
