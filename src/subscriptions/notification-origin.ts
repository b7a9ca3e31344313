import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { HttpRequest, HttpResponse, NextFunction } from '../common/http.types';
import { operationOutcome } from '../common/operation-outcome';
import { SubscriptionStore, type Registration } from './subscription.store';

/** Where FHIR servers deliver: `/fhir-notifications/{registrationId}[/{Type}/{id}]`. */
export const NOTIFICATIONS_ROUTE = 'fhir-notifications';
const NOTIFICATION_PATH = /^\/fhir-notifications\/([^/?#]+)/;

const rawBodies = new WeakMap<object, Buffer>();

/** Called by the JSON body parser's `verify`: notification bodies are kept as bytes for the HMAC check. */
export function keepNotificationBody(req: { originalUrl?: string; url?: string }, body: Buffer): void {
  if (NOTIFICATION_PATH.test(req.originalUrl ?? req.url ?? '')) rawBodies.set(req, body);
}

/** The bytes the sender signed (empty for a body-less POST). */
export function rawBodyOf(req: object): Buffer {
  return rawBodies.get(req) ?? Buffer.alloc(0);
}

/** `Bearer <secret>` (what `channel.header` makes the server send), compared in constant time. */
function bearerMatches(authorization: string | undefined, secret: string): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  return m !== null && safeEqual(m[1], secret);
}

/** Medplum's `X-Signature`: hex HMAC-SHA256 of the raw body with the subscription secret. */
function signatureMatches(signature: string | undefined, secret: string, body: Buffer): boolean {
  if (signature === undefined || !/^[0-9a-f]{64}$/i.test(signature)) return false;
  return safeEqual(signature.toLowerCase(), createHmac('sha256', secret).update(body).digest('hex'));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Why this request is not from the server the registration was made with, or undefined when it is. */
export function originProblem(reg: Registration, headers: { authorization?: string; 'x-signature'?: string | string[] }, body: Buffer): string | undefined {
  if (bearerMatches(headers.authorization, reg.secret)) return undefined;
  const signature = Array.isArray(headers['x-signature']) ? headers['x-signature'][0] : headers['x-signature'];
  if (signature !== undefined) return signatureMatches(signature, reg.secret, body) ? undefined : 'X-Signature does not match the HMAC-SHA256 of the body with this subscription\'s secret';
  return headers.authorization ? 'Authorization does not carry this subscription\'s secret' : 'no credentials: expected Authorization: Bearer <subscription secret> or an X-Signature HMAC';
}

/**
 * Runs before the body parser, as the CDS Hooks JWT check does: an unknown registration is 404 and a
 * request without an X-Signature must carry the secret header, both before any body is read (an
 * unknown caller cannot make the service parse 20 MB). A signed request is checked after parsing.
 */
@Injectable()
export class NotificationGate {
  constructor(private readonly store: SubscriptionStore) {}

  readonly beforeBody = (req: HttpRequest, res: HttpResponse, next: NextFunction): void => {
    const m = NOTIFICATION_PATH.exec(req.path);
    if (!m || req.method === 'OPTIONS') return next();
    const reg = this.store.registration(decodeURIComponent(m[1]));
    if (!reg) return void refuse(res, 404, operationOutcome('not-found', [`no subscription registration ${m[1].slice(0, 80)} at this service`]));
    if (req.headers['x-signature'] !== undefined) return next();
    // As everywhere in the service, a 401 says no more than `login` (no hint for a caller guessing secrets).
    if (originProblem(reg, req.headers, Buffer.alloc(0))) return void refuse(res, 401, operationOutcome('login'));
    next();
  };
}

function refuse(res: HttpResponse, status: number, body: unknown): void {
  // The body is left unread: close the connection rather than drain it.
  res.setHeader('Connection', 'close');
  res.status(status).json(body);
}
