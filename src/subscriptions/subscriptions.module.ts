import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CdsHooksModule } from '../cds-hooks/cds-hooks.module';
import { NotificationGate } from './notification-origin';
import { NotificationsController } from './notifications.controller';
import { SubscriptionStore } from './subscription.store';
import { SubscriptionWorker } from './subscription.worker';

/**
 * FHIR Subscriptions: the subscriber endpoints (`/fhir-notifications/…`), the SQLite queue and the worker
 * that turns a chart change into a written-back recommendation (`leader subscribe` places the Subscriptions).
 */
@Module({
  imports: [CdsHooksModule],
  controllers: [NotificationsController],
  providers: [
    // Jobs a killed process left `processing` go back to the queue at boot.
    { provide: SubscriptionStore, inject: [APP_CONFIG], useFactory: (config: AppConfig) => SubscriptionStore.open(config.subscriptions.databaseFile, { recover: true }) },
    SubscriptionWorker,
    NotificationGate,
  ],
  exports: [NotificationGate],
})
export class SubscriptionsModule {}
