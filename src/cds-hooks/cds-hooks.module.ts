import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import * as path from 'node:path';
import type { Logger } from 'pino';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/app-config';
import { LOGGER } from '../common/logger';
import { FhirServerClient } from '../fhir/fhir-server.client';
import { CdsJwtGuard, JWT_VERIFIER } from './auth/cds-jwt.guard';
import { JtiReplayCache } from './auth/jti-replay.cache';
import { JwtVerifier } from './auth/jwt-verifier';
import { loadTrustedClients } from './auth/trusted-clients';
import { CdsHooksController } from './cds-hooks.controller';
import { CdsHooksService } from './cds-hooks.service';
import { CdsServicesRegistry } from './cds-services.registry';
import { FeedbackStore } from './feedback/feedback.store';
import { ModelCardController } from './model-card/model-card.controller';
import { FHIR_CLIENT_FACTORY, PrefetchResolver, type PrefetchFhirClientFactory } from './prefetch/prefetch.resolver';

/** The CDS Hooks edge: discovery, service calls, feedback, model cards, JWT verification. */
@Module({
  controllers: [CdsHooksController, ModelCardController],
  providers: [
    {
      provide: CdsServicesRegistry,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => CdsServicesRegistry.load(config.cdsHooksFile),
    },
    {
      provide: FHIR_CLIENT_FACTORY,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): PrefetchFhirClientFactory => (server, token, deadline) => new FhirServerClient(server, {
        ...(token ? { bearerToken: token } : {}),
        timeoutMs: config.fhirTimeoutMs,
        maxResponseBytes: config.fhirMaxResponseBytes,
        maxPages: config.fhirMaxPages,
        maxResources: config.maxResourcesPerKey,
        deadline,
      }),
    },
    {
      provide: PrefetchResolver,
      inject: [APP_CONFIG, FHIR_CLIENT_FACTORY],
      useFactory: (config: AppConfig, clientFor: PrefetchFhirClientFactory) =>
        new PrefetchResolver(clientFor, { maxResourcesPerKey: config.maxResourcesPerKey, deadlineMs: config.fhirDeadlineMs }),
    },
    {
      provide: FeedbackStore,
      inject: [APP_CONFIG, LOGGER],
      useFactory: (config: AppConfig, logger: Logger) =>
        FeedbackStore.open(path.join(config.dataDir, 'feedback.jsonl'), {
          onRepair: (message) => logger.warn({ repair: message }, 'feedback log repaired'),
          dedupeWindow: config.feedbackDedupeWindow,
        }),
    },
    {
      provide: JWT_VERIFIER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        config.authDisabled ? null : new JwtVerifier(loadTrustedClients(config.clientsFile as string), {
          clockSkewSeconds: config.jwtClockSkewSeconds,
          maxLifetimeSeconds: config.jwtMaxLifetimeSeconds,
          replay: new JtiReplayCache(config.jtiCachePerIssuer),
        }),
    },
    CdsJwtGuard,
    CdsHooksService,
  ],
  exports: [CdsJwtGuard, JWT_VERIFIER, CdsHooksService, FeedbackStore, FHIR_CLIENT_FACTORY],
})
export class CdsHooksModule implements OnApplicationShutdown {
  constructor(@Inject(FeedbackStore) private readonly feedback: FeedbackStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.feedback.close();
  }
}
