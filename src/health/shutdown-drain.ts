import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { Readiness } from './readiness';

/**
 * SIGTERM (Kubernetes, systemd, docker stop): /health/ready answers 503 at once while the server keeps
 * serving for `drainMs`, so load balancers stop sending; then the server stops accepting, every
 * in-flight request completes, and the app closes (model released, feedback log closed) and exits 0.
 * A second SIGTERM during the drain is ignored; SIGINT (Ctrl-C) still closes at once.
 */
export function drainOnSigterm(app: INestApplication, drainMs: number, logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.once('SIGTERM', () => {
    process.on('SIGTERM', () => logger.info('SIGTERM again: already draining'));
    app.get(Readiness).startDraining();
    logger.info({ drainMs }, 'SIGTERM: not ready; draining, then closing after in-flight requests');
    setTimeout(() => {
      const server = app.getHttpServer() as Server;
      server.close(() => {
        app.close().then(() => {
          logger.info('closed');
          logger.flush?.();
          exit(0);
        }, (e: Error) => {
          logger.error({ err: { type: e.name, message: e.message } }, 'shutdown failed');
          logger.flush?.();
          exit(1);
        });
      });
    }, drainMs);
  });
}
