import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, Post, Req } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';

import type { HttpRequest } from '../common/http.types';
import type { CdsDiscoveryResponse, CdsRequest, CdsResponse } from './cds-hooks.types';
import { CdsHooksService } from './cds-hooks.service';
import { CdsServicesRegistry } from './cds-services.registry';
import { CdsFeedbackDto } from './dto/cds-feedback.dto';
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
    return this.service.call(id, request, publicBaseOf(req, this.config.publicUrl), (req.res?.locals.logFields as Record<string, unknown>) ?? logFields);
  }

  @Post(':id/feedback')
  @HttpCode(200)
  async feedback(@Param('id') id: string, @Body() body: CdsFeedbackDto): Promise<{ stored: number; duplicates: number }> {
    this.serviceOrThrow(id);
    return this.feedbackStore.append(id, body.feedback);
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
