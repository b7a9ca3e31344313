import { BadRequestException, Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, PayloadTooLargeException, Post, Req, ValidationPipe } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';

import type { HttpRequest } from '../common/http.types';
import { verifiedCallerOf } from './auth/cds-jwt.guard';
import { fhirServerAllowed } from './auth/trusted-clients';
import type { CdsDiscoveryResponse, CdsRequest, CdsResponse } from './cds-hooks.types';
import { CdsHooksService } from './cds-hooks.service';
import { CdsServicesRegistry } from './cds-services.registry';
import { CdsFeedbackDto } from './dto/cds-feedback.dto';
import { isRecord as isObject } from '../common/is-record';
import { CdsRequestPipe } from './dto/cds-request.pipe';
import { FeedbackStore, FeedbackSummary } from './feedback/feedback.store';
import { publicBaseOf } from './public-base-url';

/** CDS Hooks 2.0 endpoints; every route here passes the JWT guard. Handlers answer 200, never Nest's POST 201. */
@Controller('cds-services')
export class CdsHooksController {
  constructor(
    private readonly service: CdsHooksService,
    private readonly registry: CdsServicesRegistry,
    private readonly feedbackStore: FeedbackStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  discovery(): CdsDiscoveryResponse {
    return { services: this.registry.services };
  }

  @Post(':id')
  @HttpCode(200)
  call(@Param('id') id: string, @Body(CdsRequestPipe) request: CdsRequest, @Req() req: HttpRequest): Promise<CdsResponse> {
    const logFields: Record<string, unknown> = { serviceId: id };
    if (req.res) req.res.locals.logFields = { ...((req.res.locals.logFields as object) ?? {}), ...logFields };
    // No request leaves for a FHIR server the calling client is not registered with (SSRF, token leaks).
    const caller = verifiedCallerOf(req);
    if (request.fhirServer !== undefined && caller !== undefined && !fhirServerAllowed(caller.client, request.fhirServer)) {
      throw new BadRequestException(`fhirServer is not a FHIR server registered for client ${caller.iss} (fhirServers in the trusted clients file)`);
    }
    return this.service.call(id, request, publicBaseOf(this.config), (req.res?.locals.logFields as Record<string, unknown>) ?? logFields);
  }

  @Post(':id/feedback')
  @HttpCode(200)
  async feedback(@Param('id') id: string, @Body() raw: unknown): Promise<{ stored: number; duplicates: number }> {
    this.serviceOrThrow(id);
    // Counted before validation: validating 100,000 items would itself be the stall.
    const items = isObject(raw) && Array.isArray(raw.feedback) ? raw.feedback.length : 0;
    if (items > this.config.feedbackMaxItems) {
      throw new PayloadTooLargeException(`feedback holds ${items} items; at most ${this.config.feedbackMaxItems} per post (CDS_FEEDBACK_MAX_ITEMS)`);
    }
    const body = (await FEEDBACK_VALIDATION.transform(raw, { type: 'body', metatype: CdsFeedbackDto })) as CdsFeedbackDto;
    return this.feedbackStore.append(id, body.feedback.map((item) => this.service.issued.describe(item)));
  }

  @Get(':id/feedback/summary')
  summary(@Param('id') id: string): FeedbackSummary {
    this.serviceOrThrow(id);
    return this.feedbackStore.summary(id);
  }

  private serviceOrThrow(id: string): void {
    if (!this.registry.get(id)) throw new NotFoundException(`No CDS service '${id}'`);
  }
}

/** The same validation as the app's global pipe, run once the item count is known to be within bounds. */
const FEEDBACK_VALIDATION = new ValidationPipe({ transform: true, whitelist: false, forbidUnknownValues: false });
