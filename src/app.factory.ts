import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AppModule, AppModuleOptions } from './app.module';
import { CdsJwtGuard } from './cds-hooks/auth/cds-jwt.guard';
import type { HttpRequest, HttpResponse, NextFunction } from './common/http.types';
import { jsonBodyParser } from './common/json-body';
import { PinoNestLogger } from './common/logger';
import { issueCodeForStatus, operationOutcome } from './common/operation-outcome';
import { requestLogMiddleware } from './common/request-log.middleware';
import { serveApiDocs } from './smart/openapi';
import { keepNotificationBody, NotificationGate } from './subscriptions/notification-origin';

/**
 * Builds the HTTP app exactly as `npm start` runs it (used by main.ts, the e2e tests and the bench).
 * Order matters: request logs, CORS for browser clients such as the CDS Hooks Sandbox (GET, POST,
 * OPTIONS; Authorization, Content-Type; preflight 204), then the JWT check *before* any body is read
 * (an unauthenticated caller cannot make the service parse 20 MB), then the body reader
 * (CDS_BODY_LIMIT applies to the decompressed body; gzip/deflate/br only, anything else 415), then
 * the JSON parser (large bodies in slices, prototype keys refused: common/json-body). Slow clients
 * are cut off by the server's request timeouts.
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
  // FHIR notifications: an unknown registration or a missing secret is refused before the body is read.
  app.use(app.get(NotificationGate).beforeBody);
  // JSON is UTF-8 (RFC 8259); the parser would try utf-16 and fail with a confusing message.
  app.use((req: HttpRequest, res: HttpResponse, next: NextFunction) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset === undefined || /^utf-?8$/i.test(charset)) return next();
    res.status(415).json(operationOutcome('not-supported', [`Content-Type: charset ${charset} is not supported (JSON is UTF-8)`]));
  });
  app.useBodyParser('raw', { limit: config.bodyLimit, type: ['application/json', 'application/fhir+json', 'application/*+json'] });
  // The bytes an X-Signature HMAC covers, kept before they are parsed.
  app.use((req: HttpRequest, _res: HttpResponse, next: NextFunction) => {
    if (Buffer.isBuffer(req.body)) keepNotificationBody(req, req.body);
    next();
  });
  app.use(jsonBodyParser());
  const server = app.getHttpServer() as Server;
  server.requestTimeout = config.requestTimeoutMs;
  server.headersTimeout = Math.min(10_000, Math.floor(config.requestTimeoutMs / 3));
  // How often those timeouts are checked (Node's default, 30 s, would let a slow body run 30 s over).
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(1000, Math.floor(config.requestTimeoutMs / 3));
  // Faults Node answers before Express sees the request (oversized headers, timeouts, bad HTTP) get an OperationOutcome too.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const text = status === 431 ? 'request headers too large' : status === 408 ? `request not received within ${config.requestTimeoutMs} ms (CDS_REQUEST_TIMEOUT_MS)` : 'malformed HTTP request';
    const body = JSON.stringify(operationOutcome(issueCodeForStatus(status), [text]));
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/fhir+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });
  serveApiDocs(app, '1.0');
  // SIGTERM drains first (health/shutdown-drain.ts, wired by main.ts); these close at once.
  app.enableShutdownHooks(['SIGINT', 'SIGHUP']);
  return app;
}
