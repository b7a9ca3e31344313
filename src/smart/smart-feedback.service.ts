import { BadRequestException, ForbiddenException, Inject, Injectable, NotFoundException, PreconditionFailedException } from '@nestjs/common';
import { operationOutcome } from '../common/operation-outcome';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { OVERRIDE_REASONS } from '../cds-hooks/cards/card.builder';
import { FeedbackStore } from '../cds-hooks/feedback/feedback.store';
import { FHIR_CLIENT_FACTORY, type PrefetchFhirClientFactory } from '../cds-hooks/prefetch/prefetch.resolver';
import { RecommendationsService } from './recommendations.service';
import type { SmartFeedbackRequestDto, SmartFeedbackResponseDto } from './smart-feedback.dto';

/** The feedback store's service id for what clinicians do in the SMART app. */
export const SMART_APP_FEEDBACK_ID = 'leader-smart-app';

/**
 * Draft-order and decline feedback from the app, into the CDS feedback store. The caller proves it
 * may act for the patient by reading Patient/<id> with its token on the (allow-listed) FHIR server.
 */
@Injectable()
export class SmartFeedbackService {
  constructor(
    private readonly store: FeedbackStore,
    private readonly recommendations: RecommendationsService,
    @Inject(FHIR_CLIENT_FACTORY) private readonly clientFor: PrefetchFhirClientFactory,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async record(body: SmartFeedbackRequestDto, token: string): Promise<SmartFeedbackResponseDto> {
    this.recommendations.checkFhirServer(body.fhirServer);
    const reason = body.overrideReason;
    if (reason && !OVERRIDE_REASONS.some((r) => r.code === reason.code && (reason.system === undefined || r.system === reason.system))) {
      throw new BadRequestException(operationOutcome('invalid', [`overrideReason.code must be one of ${OVERRIDE_REASONS.map((r) => r.code).join(', ')}`]));
    }
    try {
      await this.clientFor(body.fhirServer, token, AbortSignal.timeout(this.config.fhirDeadlineMs)).read(`Patient/${body.patient}`);
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 401 || status === 403) throw new ForbiddenException(operationOutcome('forbidden', [`the FHIR server refused this token for Patient/${body.patient} (HTTP ${status})`]));
      if (status === 404 || status === 410) throw new NotFoundException(operationOutcome('not-found', [`Patient/${body.patient} not found on the FHIR server`]));
      throw new PreconditionFailedException(operationOutcome('incomplete', [`could not check the token with the FHIR server: ${(e as Error).message}`]));
    }
    const full = reason ? OVERRIDE_REASONS.find((r) => r.code === reason.code) : undefined;
    return this.store.append(SMART_APP_FEEDBACK_ID, [{
      // One "card" per patient and class (per launching hook instance): a retried post is a duplicate, two classes are not.
      card: `${body.hookInstance ?? 'smart-app'}:Patient/${body.patient}:${body.atc3}`,
      outcome: body.outcome,
      outcomeTimestamp: body.outcomeTimestamp,
      ...(body.outcome === 'accepted' ? { acceptedSuggestions: [{ id: body.draftOrder as string, atc3: body.atc3, ...(body.product ? { product: body.product } : {}) }] } : {}),
      suggestions: [{ id: body.draftOrder ?? `class:${body.atc3}`, outcome: body.outcome, atc3: body.atc3, ...(body.product ? { product: body.product } : {}) }],
      ...(full ? { overrideReason: { reason: full } } : {}),
    }]);
  }
}
