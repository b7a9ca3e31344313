import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { CdsHooksService } from '../cds-hooks/cds-hooks.service';
import { LOGGER } from '../common/logger';

export type ReadinessState = 'warming-up' | 'ready' | 'draining';

/**
 * Whether the service should get traffic: ready once warm (one synthetic call answered at boot, before
 * the server listens, so the first real call costs what the next ones do), not ready again from the
 * moment a shutdown drain starts (load balancers stop sending while in-flight calls complete).
 */
@Injectable()
export class Readiness implements OnApplicationBootstrap {
  private warm = false;
  private draining = false;

  constructor(
    @Inject(CdsHooksService) private readonly cds: CdsHooksService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const started = performance.now();
    await this.cds.warmUp();
    this.warm = true;
    this.logger.info({ warmUpMs: Math.round(performance.now() - started) }, 'warm');
  }

  startDraining(): void {
    this.draining = true;
  }

  get state(): ReadinessState {
    if (this.draining) return 'draining';
    return this.warm ? 'ready' : 'warming-up';
  }
}
