import { DynamicModule, Global, Module, ValidationPipe } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import type { Logger } from 'pino';
import { CdsJwtGuard } from './cds-hooks/auth/cds-jwt.guard';
import { CdsHooksModule } from './cds-hooks/cds-hooks.module';
import { SmartModule } from './smart/smart.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { TERMINOLOGY, TIMELINE_BUILDER, TimelineBuilder } from './cds-hooks/serving/serving.tokens';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { LOGGER } from './common/logger';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
import { InferenceModule } from './inference/inference.module';
import type { StudentModel } from './inference/student-model';
import { Terminology } from './terminology/terminology';
import type { TerminologyLookup } from './terminology/terminology.types';
import { timelineStages } from './timeline/timeline';

export interface AppModuleOptions {
  config: AppConfig;
  logger: Logger;
  /** An already loaded model (tests, bench); otherwise config.modelDir is loaded and verified at boot. */
  model?: StudentModel;
  /** An already loaded terminology; otherwise fhir-mappings/ is loaded at boot. */
  terminology?: TerminologyLookup;
}

@Global()
@Module({})
class ServingDataModule {
  static forRoot(opts: AppModuleOptions): DynamicModule {
    return {
      module: ServingDataModule,
      providers: [
        { provide: LOGGER, useValue: opts.logger },
        opts.terminology ? { provide: TERMINOLOGY, useValue: opts.terminology } : { provide: TERMINOLOGY, useFactory: () => Terminology.load(opts.config.fhirMappingsDir) },
        { provide: TIMELINE_BUILDER, useValue: timelineStages satisfies TimelineBuilder },
      ],
      exports: [LOGGER, TERMINOLOGY, TIMELINE_BUILDER],
    };
  }
}

/**
 * The service: config, logger, model, terminology, the CDS Hooks edge and health. The pipe, filter
 * and guard are APP_* providers, so a test module built from AppModule behaves like production.
 */
@Module({})
export class AppModule {
  static forRoot(opts: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(opts.config),
        ServingDataModule.forRoot(opts),
        opts.model ? InferenceModule.forModel(opts.model) : InferenceModule.forRoot(opts.config.modelDir),
        CdsHooksModule,
        SmartModule,
        SubscriptionsModule,
      ],
      controllers: [HealthController],
      providers: [
        Readiness,
        // Lenient on input: no whitelist stripping (CDS Hooks extensions and 3.0 fields must survive).
        { provide: APP_PIPE, useValue: new ValidationPipe({ transform: true, whitelist: false, forbidUnknownValues: false }) },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
        { provide: APP_GUARD, useExisting: CdsJwtGuard },
      ],
    };
  }
}
