import { Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../cds-hooks/auth/public.decorator';
import type { HttpRequest } from '../common/http.types';
import { RecommendationsRequestDto, RecommendationsResponseDto } from './recommendations.dto';
import { SmartFeedbackRequestDto, SmartFeedbackResponseDto } from './smart-feedback.dto';
import { SmartFeedbackService } from './smart-feedback.service';
import { bearerTokenOf, RecommendationsService } from './recommendations.service';

const OUTCOME = { description: 'OperationOutcome', schema: { $ref: '#/components/schemas/OperationOutcome' } };

/**
 * The API for apps. Not behind the CDS Hooks JWT: the caller is a user with a SMART access token,
 * which is passed to the FHIR server for every read (it decides what the user may see).
 */
@ApiTags('recommendations')
@ApiBearerAuth('smart')
@Public()
@Controller('api/v1')
export class RecommendationsController {
  constructor(private readonly service: RecommendationsService, private readonly feedback: SmartFeedbackService) {}

  @Post('recommendations')
  @HttpCode(200)
  @ApiOperation({ summary: 'Recommended medication classes for a patient, read through a FHIR server with the user\'s SMART token' })
  @ApiBody({ type: RecommendationsRequestDto })
  @ApiOkResponse({ type: RecommendationsResponseDto })
  @ApiResponse({ status: 400, ...OUTCOME, description: 'Malformed body, or a FHIR server not on the allow-list (no request is made)' })
  @ApiResponse({ status: 401, ...OUTCOME, description: 'No bearer token' })
  @ApiResponse({ status: 403, ...OUTCOME, description: 'The FHIR server refused the token' })
  @ApiResponse({ status: 404, ...OUTCOME, description: 'The FHIR server holds no such patient' })
  @ApiResponse({ status: 412, ...OUTCOME, description: 'Patient data could not be read (server unreachable, malformed answers, too slow)' })
  recommendations(@Body() body: RecommendationsRequestDto, @Headers('authorization') authorization: string | undefined, @Req() req: HttpRequest): Promise<RecommendationsResponseDto> {
    const token = bearerTokenOf(authorization);
    return this.service.recommend(body, token, (req.res?.locals.logFields as Record<string, unknown>) ?? {});
  }

  @Post('feedback')
  @HttpCode(200)
  @ApiOperation({ summary: 'Record a clinician\'s draft order or decline of a class, in the same store as CDS Hooks feedback' })
  @ApiBody({ type: SmartFeedbackRequestDto })
  @ApiOkResponse({ type: SmartFeedbackResponseDto })
  @ApiResponse({ status: 400, ...OUTCOME, description: 'Malformed body or FHIR server not on the allow-list' })
  @ApiResponse({ status: 401, ...OUTCOME, description: 'No bearer token' })
  @ApiResponse({ status: 403, ...OUTCOME, description: 'The FHIR server refused the token for this patient' })
  submitFeedback(@Body() body: SmartFeedbackRequestDto, @Headers('authorization') authorization: string | undefined): Promise<SmartFeedbackResponseDto> {
    return this.feedback.record(body, bearerTokenOf(authorization));
  }
}
