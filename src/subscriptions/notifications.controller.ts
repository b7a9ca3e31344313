import { BadRequestException, Controller, Delete, Get, HttpCode, HttpException, NotFoundException, Param, Post, Put, Req, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../cds-hooks/auth/public.decorator';
import type { HttpRequest } from '../common/http.types';
import { operationOutcome } from '../common/operation-outcome';
import { NotificationError, parseNotification, type Notification } from './notification.parser';
import { NOTIFICATIONS_ROUTE, originProblem, rawBodyOf } from './notification-origin';
import { SubscriptionStore, type Registration } from './subscription.store';
import { SubscriptionWorker } from './subscription.worker';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const FHIR_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

/**
 * The subscriber's endpoints. A notification is answered 200 only after its events are committed to the
 * queue (processing is asynchronous); a repeat is answered 200 too and queues nothing. Not behind the CDS
 * Hooks JWT: the origin check is the registration's secret (header or HMAC), done before the body is read
 * where it can be (NotificationGate) and here in full.
 */
@ApiExcludeController()
@Public()
@Controller(NOTIFICATIONS_ROUTE)
export class NotificationsController {
  constructor(private readonly store: SubscriptionStore, private readonly worker: SubscriptionWorker) {}

  /** Backport IG notifications (history Bundle), classic empty POST, or a POSTed resource. */
  @Post(':registration')
  @HttpCode(200)
  receive(@Param('registration') registration: string, @Req() req: HttpRequest) {
    const reg = this.checked(registration, req);
    return this.accept(reg, () => parseNotification(bodyOf(req)));
  }

  /** Classic rest-hook with payload (HAPI): PUT `{endpoint}/{Type}/{id}` with the resource. */
  @Put(':registration/:type/:id')
  @HttpCode(200)
  receiveResource(@Param('registration') registration: string, @Param('type') type: string, @Param('id') id: string, @Req() req: HttpRequest) {
    const reg = this.checked(registration, req);
    if (!FHIR_TYPE.test(type) || !FHIR_ID.test(id)) throw new BadRequestException(operationOutcome('invalid', [`${type.slice(0, 64)}/${id.slice(0, 64)} is not a FHIR Type/id`]));
    return this.accept(reg, () => parseNotification(bodyOf(req), { type, id }));
  }

  /** HAPI sends deletes too; a deletion triggers no recommendation. */
  @Delete(':registration/:type/:id')
  @HttpCode(200)
  deleted(@Param('registration') registration: string, @Req() req: HttpRequest) {
    this.checked(registration, req);
    return operationOutcome('informational', ['deletions trigger no recommendation; nothing queued'], 'information');
  }

  /** This registration's dead letters (authenticated with its secret, as its notifications are). */
  @Get(':registration/dead-letters')
  deadLetters(@Param('registration') registration: string, @Req() req: HttpRequest) {
    const reg = this.checked(registration, req);
    return { registration: reg.id, subscription: reg.subscriptionId ?? null, counts: this.store.counts(reg.id), deadLetters: this.store.jobs({ status: 'dead', registration: reg.id }) };
  }

  private checked(registration: string, req: HttpRequest): Registration {
    const reg = this.store.registration(registration);
    if (!reg) throw new NotFoundException(operationOutcome('not-found', [`no subscription registration ${registration.slice(0, 80)} at this service`]));
    const problem = originProblem(reg, req.headers, rawBodyOf(req));
    if (problem) throw new UnauthorizedException(operationOutcome('login', [problem]));
    return reg;
  }

  private accept(reg: Registration, parse: () => Notification) {
    let n: Notification;
    try {
      n = parse();
    } catch (e) {
      if (e instanceof NotificationError) throw new BadRequestException(operationOutcome('invalid', [e.message]));
      throw e;
    }
    if (n.kind === 'topic' && n.subscriptionId && reg.subscriptionId && n.subscriptionId !== reg.subscriptionId) {
      throw new BadRequestException(operationOutcome('invalid', [`this notification is for Subscription/${n.subscriptionId}; this endpoint receives Subscription/${reg.subscriptionId}'s`]));
    }
    const queued = this.store.record(reg.id, {
      events: n.events,
      ...(n.kind === 'topic' && n.eventsSinceStart !== undefined ? { eventsSinceStart: n.eventsSinceStart } : {}),
      poll: n.kind === 'classic-ping',
    });
    if (queued > 0) this.worker.wake();
    const what = n.kind === 'topic' ? n.type : n.kind;
    return operationOutcome('informational', [`${what}: ${queued} new job(s) queued`], 'information');
  }
}

/** The parsed JSON body; a body in another media type is refused (the parser skipped it). */
function bodyOf(req: HttpRequest): unknown {
  const length = Number(req.headers['content-length'] ?? 0);
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if ((length > 0 || chunked) && rawBodyOf(req).length === 0 && (req.body === undefined || (typeof req.body === 'object' && req.body !== null && Object.keys(req.body).length === 0))) {
    throw new HttpException(operationOutcome('not-supported', [`Content-Type ${req.headers['content-type'] ?? '(none)'}: notifications are application/fhir+json`]), 415);
  }
  return req.body;
}
