import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import { AppModule, AppModuleOptions } from './app.module';
import { CdsJwtGuard } from './cds-hooks/auth/cds-jwt.guard';
import { forbiddenKeyPath } from './cds-hooks/dto/fhir-shape';
import type { HttpRequest, HttpResponse, NextFunction } from './common/http.types';
import { PinoNestLogger } from './common/logger';
import { operationOutcome } from './common/operation-outcome';
import { requestLogMiddleware } from './common/request-log.middleware';

/** Requests whose raw body holds one of these may carry a prototype key; only they get the full key walk. */
const SUSPECT_KEYS = [Buffer.from('__proto__'), Buffer.from('constructor'), Buffer.from('prototype'), Buffer.from('\\u')];
const suspect = new WeakSet<object>();

/**
 * Builds the HTTP app exactly as `npm start` runs it (used by main.ts, the e2e tests and the bench).
 * Order matters: request logs, CORS for browser clients such as the CDS Hooks Sandbox (GET, POST,
 * OPTIONS; Authorization, Content-Type; preflight 204), then the JWT check *before* any body is read
 * (an unauthenticated caller cannot make the service parse 20 MB), then the JSON body parser
 * (CDS_BODY_LIMIT applies to the decompressed body; gzip/deflate/br only, anything else 415), then
 * the refusal of prototype keys. Slow clients are cut off by the server's request timeouts.
 */
export async function createApp(opts: AppModuleOptions): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(opts), {
    bodyParser: false,
    abortOnError: false,
    logger: new PinoNestLogger(opts.logger),
  });
  const config = opts.config;
  app.disable('x-powered-by');
  app.use(requestLogMiddleware(opts.logger));
  // Chrome's Private Network Access asks a loopback service to opt in on the preflight.
  app.use((req: HttpRequest, res: HttpResponse, next: NextFunction) => {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
    next();
  });
  const origins = config.corsOrigins;
  app.enableCors({
    origin: origins === '*' ? '*' : origins,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Content-Encoding'],
    exposedHeaders: ['Content-Location', 'Location'],
    maxAge: 86400,
    optionsSuccessStatus: 204,
  });
  if (!config.authDisabled) {
    const guard = app.get(CdsJwtGuard);
    app.use((req: HttpRequest, res: HttpResponse, next: NextFunction) => {
      if (req.method === 'OPTIONS' || !/^\/cds-services(\/|$)/.test(req.path)) return next();
      guard.authenticate(req).then((caller) => {
        if (caller !== null) return next();
        // The body is left unread: close the connection rather than drain it.
        res.setHeader('Connection', 'close');
        res.status(401).json(operationOutcome('login'));
      }, next);
    });
  }
  app.useBodyParser('json', {
    limit: config.bodyLimit,
    type: ['application/json', 'application/fhir+json', 'application/*+json'],
    verify: (req: object, _res: unknown, buf: Buffer) => {
      if (SUSPECT_KEYS.some((k) => buf.includes(k))) suspect.add(req);
    },
  });
  app.use((req: HttpRequest, res: HttpResponse, next: NextFunction) => {
    if (!suspect.has(req)) return next();
    const at = forbiddenKeyPath(req.body);
    if (at === undefined) return next();
    res.status(400).json(operationOutcome('invalid', [`${at}: this key is not allowed in a request`]));
  });
  const server = app.getHttpServer() as Server;
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(10_000, Math.floor(config.requestTimeoutMs / 3));
  app.enableShutdownHooks();
  return app;
}
