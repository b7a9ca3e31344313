import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, AppModuleOptions } from './app.module';
import type { HttpRequest, HttpResponse, NextFunction } from './common/http.types';
import { PinoNestLogger } from './common/logger';
import { requestLogMiddleware } from './common/request-log.middleware';

/**
 * Builds the HTTP app exactly as `npm start` runs it (used by main.ts, the e2e tests and the bench):
 * a JSON body parser sized for prefetch Bundles, CORS for browser clients such as the CDS Hooks
 * Sandbox (GET, POST, OPTIONS; Authorization, Content-Type; preflight 204), request logs.
 */
export async function createApp(opts: AppModuleOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(opts), {
    bodyParser: false,
    abortOnError: false,
    logger: new PinoNestLogger(opts.logger),
  });
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: opts.config.bodyLimit, type: ['application/json', 'application/fhir+json', 'application/*+json'] });
  app.use(requestLogMiddleware(opts.logger));
  // Chrome's Private Network Access asks a loopback service to opt in on the preflight.
  app.use((req: HttpRequest, res: HttpResponse, next: NextFunction) => {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
    next();
  });
  const origins = opts.config.corsOrigins;
  app.enableCors({
    origin: origins === '*' ? '*' : origins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type'],
    exposedHeaders: ['Content-Location', 'Location'],
    maxAge: 86400,
    optionsSuccessStatus: 204,
  });
  // SIGTERM drains first (health/shutdown-drain.ts, wired by main.ts); these close at once.
  app.enableShutdownHooks(['SIGINT', 'SIGHUP']);
  return app;
}
