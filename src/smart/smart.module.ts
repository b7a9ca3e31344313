import { Module } from '@nestjs/common';
import { CdsHooksModule } from '../cds-hooks/cds-hooks.module';
import { RecommendationsController } from './recommendations.controller';
import { RecommendationsService } from './recommendations.service';
import { SmartAppController } from './smart-app.controller';
import { SmartFeedbackService } from './smart-feedback.service';

/** Apps: the recommendations API (`/api/v1`), its OpenAPI document (`/api/docs`) and the SMART app (`/smart/`). */
@Module({
  imports: [CdsHooksModule],
  controllers: [RecommendationsController, SmartAppController],
  providers: [RecommendationsService, SmartFeedbackService],
})
export class SmartModule {}
