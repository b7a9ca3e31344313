/**
 * Service bootstrap: validated config, pino logs, the verified model, then listen. Any startup
 * problem (env, model folder, cds-hooks.json, trusted clients, feedback log) ends the process with
 * one clear line and exit code 1.
 */
import 'reflect-metadata';
import { createApp } from './app.factory';
import { loadAppConfig } from './config/app-config';
import { createLogger } from './common/logger';
import { drainOnSigterm } from './health/shutdown-drain';
import type { AddressInfo } from 'node:net';

async function bootstrap(): Promise<void> {
  let config;
  try {
    config = loadAppConfig();
  } catch (e) {
    process.stderr.write(`leader-cds: ${(e as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel);
  if (config.authDisabled) {
    const banner = 'CDS_AUTH_DISABLED=true: JWT checking is OFF. Any caller can use this service. Local demo only — never expose it.';
    logger.warn({ authDisabled: true }, banner);
    process.stderr.write(`\n!!! ${banner} !!!\n\n`);
  }
  try {
    const app = await createApp({ config, logger });
    await app.listen(config.port, config.host);
    drainOnSigterm(app, config.shutdownDrainMs, logger);
    const port = (app.getHttpServer().address() as AddressInfo).port;
    logger.info({ port, host: config.host, modelDir: config.modelDir, authDisabled: config.authDisabled }, 'leader-cds listening');
  } catch (e) {
    const err = e as Error;
    const message = (err?.message ?? String(e)).split('\n')[0];
    logger.fatal({ err: { type: err?.name, message } }, 'startup failed');
    logger.flush?.();
    process.stderr.write(`leader-cds: cannot start: ${message}\n`);
    process.exit(1);
  }
}

void bootstrap();
