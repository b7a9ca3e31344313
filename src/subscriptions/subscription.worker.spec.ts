import { HttpException } from '@nestjs/common';
import type { Resource } from 'fhir/r4';
import { operationOutcome } from '../common/operation-outcome';
import { FhirServerError } from '../fhir/fhir-server.client';
import { BackendTokenError } from './backend-token';
import { NotificationError } from './notification.parser';
import { failureOf, ownEcho, SUBSCRIPTION_QUERIES } from './subscription.worker';
import { SYSTEMS } from './write-back.builder';

/** A resource literal as the worker receives it (a read from the server). */
const r = (resource: object) => resource as Resource;

describe('subscription worker rules', () => {
  it.each([
    [new FhirServerError('POST x: HTTP 503', 'http', 'x', 503), true],
    [new FhirServerError('POST x: HTTP 429', 'http', 'x', 429), true],
    [new FhirServerError('GET x: HTTP 401', 'http', 'x', 401), true],
    [new FhirServerError('GET x: no answer', 'timeout', 'x'), true],
    [new FhirServerError('GET x: ECONNREFUSED', 'network', 'x'), true],
    [new FhirServerError('POST x: HTTP 400 (invalid)', 'http', 'x', 400), false],
    [new FhirServerError('POST x: HTTP 403', 'http', 'x', 403), false],
    [new FhirServerError('GET x: not FHIR', 'protocol', 'x'), false],
    [new BackendTokenError('token endpoint: HTTP 503', true), true],
    [new BackendTokenError('token endpoint refused client: invalid_client', false), false],
    [new HttpException(operationOutcome('incomplete', ["prefetch key 'conditions': HTTP 503"]), 412), true],
    [new HttpException(operationOutcome('too-costly', ['too many visits']), 422), false],
    [new NotificationError('bad'), false],
  ])('retries what may succeed later, dead-letters what cannot (%#)', (error, retryable) => {
    const f = failureOf(error);
    expect(f.retryable).toBe(retryable);
    expect(f.message).not.toBe('');
  });

  it('a hook error keeps its diagnostics in the message', () => {
    expect(failureOf(new HttpException(operationOutcome('incomplete', ["prefetch key 'patient': HTTP 503"]), 412)).message).toBe("HTTP 412: prefetch key 'patient': HTTP 503");
  });

  it('recognises its own write-back and proposals, so they never trigger a recommendation', () => {
    expect(ownEcho(r({ resourceType: 'MedicationRequest', status: 'draft', intent: 'proposal', subject: { reference: 'Patient/1' } }))).toBe('a proposal (not an order)');
    expect(ownEcho(r({ resourceType: 'RequestGroup', status: 'active', intent: 'proposal', identifier: [{ system: SYSTEMS.requestGroup, value: 'x' }] }))).toBe('a leader-cds write-back');
    expect(ownEcho(r({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/1' } }))).toBeUndefined();
    expect(ownEcho(r({ resourceType: 'Condition', subject: { reference: 'Patient/1' } }))).toBeUndefined();
  });

  it('reads the patient as the hooks do, minus proposals (its own would read as drafted orders)', () => {
    expect(SUBSCRIPTION_QUERIES.medicationRequests).toBe('MedicationRequest?patient={{context.patientId}}&intent=order,original-order,reflex-order,filler-order,instance-order,plan,option');
    expect(SUBSCRIPTION_QUERIES.conditions).toBe('Condition?patient={{context.patientId}}');
  });
});
