import {
  evalFhirPath,
  getSearchParameter,
  getStatus,
  matchesSearchRequest,
  normalizeOperationOutcome,
  Operator,
  validateResource,
} from '@medplum/core';
import { FhirRouter, type FhirRequest, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, OperationOutcome, OperationOutcomeIssue, Parameters, Reference, Resource } from '@medplum/fhirtypes';
import { buildCapabilityStatement, SUPPORTED_INTERACTIONS } from './capability-statement';
import type { EhrRepository } from './ehr-repository';
import { patientCompartmentParams } from './fhir-definitions';
import { accessFor, type Access, type Permission, type ResourceScope } from './smart-scopes';
import { readSubscription } from './subscription-config';
import type { SubscriptionDelivery } from './subscription-delivery';

/** Who is asking: `open` (no token needed) or a token's resource scopes and launch patient. */
export type FhirAccess = { open: true } | { open: false; scopes: ResourceScope[]; patient?: string };

export interface FhirHttpResult {
  status: number;
  body: Resource;
  headers?: Record<string, string>;
}

/** Search result parameters that are not search parameters of a type. */
const RESULT_PARAMS = new Set(['_count', '_offset', '_sort', '_summary', '_total', '_elements', '_include', '_format', '_pretty']);
export const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

const PERMISSION: Record<string, Permission> = {
  read: 'r', vread: 'r', 'history-instance': 'r', 'search-type': 's', create: 'c', update: 'u', patch: 'u', delete: 'd',
};

/**
 * The FHIR REST API of `leader ehr`: Medplum's FhirRouter over the in-memory store, with what the
 * router leaves to its host: SMART scope and patient-compartment checks, validation of what is
 * written, bare ids in reference searches (`patient=123` means `Patient/123`; the router matches
 * only `Type/id`), `_include`, paging links, and rolled-back transactions.
 */
export class FhirEndpoint {
  private readonly router = new FhirRouter();
  private capability: Resource | undefined;

  constructor(
    private readonly repo: EhrRepository,
    private readonly baseUrl: string,
    private readonly smartUrls: { authorize: string; token: string },
    private readonly subscriptions?: SubscriptionDelivery,
  ) {}

  /** `path` is what follows `/fhir/` (with its query string); `body` is parsed JSON or undefined. */
  async handle(method: string, path: string, headers: Record<string, string | string[] | undefined>, body: unknown, access: FhirAccess): Promise<FhirHttpResult> {
    const url = new URL(path, 'http://local/');
    const route = url.pathname.replace(/^\/+|\/+$/g, '');
    if (route === 'metadata' && method === 'GET') {
      this.capability ??= buildCapabilityStatement(this.baseUrl, this.smartUrls);
      return { status: 200, body: this.capability };
    }
    const query: Record<string, string[]> = {};
    for (const [k, v] of url.searchParams) (query[k] ??= []).push(v);
    const operation = /^Subscription\/([^/]+)\/\$(status|events)$/.exec(route);
    if (operation && (method === 'GET' || method === 'POST')) return this.subscriptionOperation(operation[2] as 'status' | 'events', operation[1], query, body, access);
    const found = this.router.find(method as HttpMethod, route);
    const interaction = found?.data?.interaction;
    if (!found || !interaction || !SUPPORTED_INTERACTIONS.has(interaction)) {
      return fail(found ? 405 : 404, found ? `${method} ${route}: ${interaction ?? 'this interaction'} is not supported by this local EHR` : `${method} ${route}: no such FHIR endpoint`);
    }
    const type = found.params.resourceType;
    try {
      if (interaction === 'batch') return await this.batch(body, headers, access);
      const access_ = this.accessTo(access, type, PERMISSION[interaction]);
      if (access_ === 'denied') return fail(403, `the token's scopes do not allow ${PERMISSION[interaction]} on ${type}`);
      if (type === 'Subscription' && access_ === 'patient-compartment') return fail(403, 'Subscriptions need a user/ or system/ scope (e.g. system/Subscription.cruds), not a patient/ one');
      if (interaction === 'search-type') return await this.search(type, query, access, access_);
      if (body !== undefined && interaction !== 'patch') {
        const problem = this.problemWith(body, type, found.params.id);
        if (problem) return fail(400, problem);
      }
      if (access_ === 'patient-compartment' && !access.open) {
        if (body !== undefined && interaction !== 'patch' && !this.inCompartment(body as Resource, access.patient)) {
          return fail(403, `${type} is outside the compartment of Patient/${access.patient ?? '?'} this token is for`);
        }
        if (found.params.id && interaction !== 'create') {
          const existing = await this.repo.readResource(type, found.params.id).catch(() => undefined);
          if (existing && !this.inCompartment(existing, access.patient)) return fail(403, `${type}/${found.params.id} is outside the compartment of Patient/${access.patient ?? '?'}`);
        }
      }
      const [outcome, resource] = await this.run(method as HttpMethod, route, query, body, headers);
      return this.respond(outcome, resource);
    } catch (e) {
      const outcome = normalizeOperationOutcome(e);
      return { status: getStatus(outcome), body: outcome };
    }
  }

  private accessTo(access: FhirAccess, type: string, permission: Permission): Access {
    return access.open ? 'unrestricted' : accessFor(access.scopes, type, permission);
  }

  private run(method: HttpMethod, route: string, query: Record<string, string[]>, body: unknown, headers: FhirRequest['headers'], transactions = false) {
    const request: FhirRequest = {
      method, url: route, pathname: '', params: {}, body, headers,
      query: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v.length === 1 ? v[0] : v])),
      config: { transactions },
    };
    return this.repo.exclusive(() => this.router.handleRequest(request, this.repo));
  }

  private respond(outcome: OperationOutcome, resource: Resource | undefined): FhirHttpResult {
    const status = getStatus(outcome);
    if (!resource) return { status, body: outcome };
    const headers: Record<string, string> = {};
    if (resource.meta?.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
    if (resource.meta?.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201 && resource.id) headers.Location = `${this.baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? ''}`;
    return { status, body: resource, headers };
  }

  /** Why `body` cannot be written as `type` (wrong type, id mismatch, invalid R4), or undefined. */
  private problemWith(body: unknown, type: string | undefined, id: string | undefined): string | undefined {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the request body is not a FHIR resource (a JSON object)';
    const resource = body as Resource;
    if (type && resource.resourceType !== type) return `resourceType ${String(resource.resourceType)} where ${type} expected`;
    if (id && resource.id !== id) return `the resource id (${String(resource.id)}) differs from the id in the URL (${id})`;
    try {
      validateResource(resource);
    } catch (e) {
      const issue = normalizeOperationOutcome(e).issue?.[0];
      return `${issue?.expression?.[0] ?? resource.resourceType}: ${issue?.details?.text ?? 'invalid'}`;
    }
    if (resource.resourceType === 'Subscription') {
      const config = readSubscription(resource);
      if (typeof config === 'string') return config;
    }
    return undefined;
  }

  /** `Subscription/{id}/$status` and `$events` (Backport IG), parameters from the query and a POSTed Parameters. */
  private subscriptionOperation(name: 'status' | 'events', id: string, query: Record<string, string[]>, body: unknown, access: FhirAccess): FhirHttpResult {
    if (!this.subscriptions) return fail(404, `Subscription/${id}/$${name}: Subscriptions are not delivered by this server`);
    if (!access.open && accessFor(access.scopes, 'Subscription', 'r') !== 'unrestricted') return fail(403, `$${name} needs a user/ or system/ scope that reads Subscription`);
    const params: Record<string, string | undefined> = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, v[0]]));
    if (body !== undefined) {
      const parameters = body as Parameters;
      if (parameters?.resourceType !== 'Parameters') return fail(400, `POST $${name} takes a Parameters resource`);
      for (const p of parameters.parameter ?? []) {
        const value = p.valueString ?? p.valueCode ?? p.valueInteger ?? p.valueUnsignedInt ?? p.valuePositiveInt;
        if (p.name && value !== undefined) params[p.name] = String(value);
      }
    }
    try {
      return { status: 200, body: this.subscriptions.operation(name, id, params) };
    } catch (e) {
      const outcome = normalizeOperationOutcome(e);
      return { status: getStatus(outcome), body: outcome };
    }
  }

  private inCompartment(resource: Resource, patient: string | undefined): boolean {
    if (!patient) return false;
    if (resource.resourceType === 'Patient') return resource.id === patient;
    const params = patientCompartmentParams().get(resource.resourceType);
    if (!params) return true; // not patient data (Medication, Practitioner, Organization …)
    return params.some((code) => getSearchParameter(resource.resourceType, code)
      && matchesSearchRequest(resource, { resourceType: resource.resourceType, filters: [{ code, operator: Operator.EQUALS, value: `Patient/${patient}` }] }));
  }

  private async search(type: string, query: Record<string, string[]>, access: FhirAccess, access_: Access): Promise<FhirHttpResult> {
    const includes = query._include ?? [];
    delete query._include;
    for (const [key, values] of Object.entries(query)) {
      const code = key.split(/[:.]/)[0];
      if (RESULT_PARAMS.has(code)) continue;
      const param = getSearchParameter(type, code);
      if (!param) return fail(400, `${key}: not a search parameter of ${type} on this server (see /fhir/metadata)`);
      // A bare id in a reference search means the parameter's (single, or Patient) target type.
      if (param.type === 'reference' && !key.includes('.') && !key.includes(':')) {
        const target = param.target?.length === 1 ? param.target[0] : param.target?.includes('Patient') ? 'Patient' : undefined;
        if (target) query[key] = values.map((v) => v.split(',').map((one) => (one.includes('/') || one === '' ? one : `${target}/${one}`)).join(','));
      }
    }
    const includeParams: { code: string; expression: string }[] = [];
    for (const include of includes) {
      const [source, code] = include.split(':');
      const param = source === type && code ? getSearchParameter(type, code) : undefined;
      if (!param || param.type !== 'reference' || !param.expression) return fail(400, `_include=${include}: expected ${type}:<reference search parameter>`);
      includeParams.push({ code, expression: param.expression });
    }
    if (access_ === 'patient-compartment' && !access.open) {
      const denied = this.restrictToPatient(type, query, access.patient);
      if (denied) return fail(403, denied);
    }
    const countOnly = query._summary?.[0] === 'count';
    const count = countOnly ? 0 : query._count ? Number(query._count[0]) : DEFAULT_PAGE_SIZE;
    if (!Number.isInteger(count) || count < 0) return fail(400, `_count=${query._count?.[0]}: expected a whole number`);
    if (!countOnly) query._count = [String(Math.min(count, MAX_PAGE_SIZE))];
    const [outcome, result] = await this.run('GET', type, query, undefined, undefined);
    if (!result || result.resourceType !== 'Bundle') return { status: getStatus(outcome), body: outcome };
    const bundle = result as Bundle;
    const entries: BundleEntry[] = [];
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (!resource) continue;
      if (access_ === 'patient-compartment' && !access.open && !this.inCompartment(resource, access.patient)) continue;
      entries.push({ fullUrl: `${this.baseUrl}/${resource.resourceType}/${resource.id}`, resource, search: { mode: 'match' } });
    }
    const included = await this.included(entries.map((e) => e.resource as Resource), includeParams, access);
    bundle.entry = [...entries, ...included];
    if (bundle.entry.length === 0) delete bundle.entry;
    bundle.link = this.pageLinks(type, query, bundle.total);
    return { status: 200, body: bundle };
  }

  /**
   * Keeps a patient-scoped search inside its patient: a search naming another patient is refused,
   * one naming none is narrowed to the token's patient. Undefined when the search may run.
   */
  private restrictToPatient(type: string, query: Record<string, string[]>, patient: string | undefined): string | undefined {
    if (!patient) return `a patient/ scope needs a launch patient to search ${type}`;
    const own = `Patient/${patient}`;
    // The compartment's parameters, and `patient` where the type has it (MedicationRequest's compartment lists only subject).
    const params = type === 'Patient' ? ['_id'] : [...new Set([...(patientCompartmentParams().get(type) ?? []), 'patient'])].filter((p) => getSearchParameter(type, p));
    if (params.length === 0 || (type !== 'Patient' && !patientCompartmentParams().has(type))) return undefined;
    const named = params.filter((p) => query[p]);
    for (const p of named) {
      const values = query[p].flatMap((v) => v.split(','));
      if (values.some((v) => v !== own && v !== patient)) return `${p}=${query[p].join(',')}: this token reaches only ${own}`;
    }
    if (named.length === 0) query[params.includes('patient') ? 'patient' : params[0]] = [type === 'Patient' ? patient : own];
    return undefined;
  }

  private async included(matches: Resource[], params: { code: string; expression: string }[], access: FhirAccess): Promise<BundleEntry[]> {
    const seen = new Set(matches.map((r) => `${r.resourceType}/${r.id}`));
    const out: BundleEntry[] = [];
    for (const { expression } of params) {
      for (const match of matches) {
        for (const value of evalFhirPath(expression, match)) {
          const ref = (value as Reference | undefined)?.reference;
          if (!ref || seen.has(ref) || ref.split('/').length !== 2) continue;
          seen.add(ref);
          const resource = await this.repo.readReference({ reference: ref }).catch(() => undefined);
          if (!resource) continue;
          if (!access.open) {
            const reach = accessFor(access.scopes, resource.resourceType, 'r');
            if (reach === 'denied' || (reach === 'patient-compartment' && !this.inCompartment(resource, access.patient))) continue;
          }
          out.push({ fullUrl: `${this.baseUrl}/${ref}`, resource, search: { mode: 'include' } });
        }
      }
    }
    return out;
  }

  private pageLinks(type: string, query: Record<string, string[]>, total: number | undefined): Bundle['link'] {
    const count = Number(query._count?.[0] ?? 0);
    const offset = Number(query._offset?.[0] ?? 0);
    const page = (at: number) => {
      const q = new URLSearchParams();
      for (const [k, vs] of Object.entries(query)) if (k !== '_offset') for (const v of vs) q.append(k, v);
      if (at > 0) q.set('_offset', String(at));
      return `${this.baseUrl}/${type}?${q.toString()}`;
    };
    const links: NonNullable<Bundle['link']> = [{ relation: 'self', url: page(offset) }];
    if (count > 0 && total !== undefined && offset + count < total) links.push({ relation: 'next', url: page(offset + count) });
    if (count > 0 && offset > 0) links.push({ relation: 'previous', url: page(Math.max(0, offset - count)) });
    return links;
  }

  /** A transaction or batch Bundle: every entry is checked against the token before any runs. */
  private async batch(body: unknown, headers: FhirRequest['headers'], access: FhirAccess): Promise<FhirHttpResult> {
    const bundle = body as Bundle | undefined;
    if (!bundle || bundle.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'batch')) {
      return fail(400, 'POST /fhir takes a Bundle of type transaction or batch');
    }
    for (const [i, entry] of (bundle.entry ?? []).entries()) {
      const method = entry.request?.method;
      const entryUrl = entry.request?.url;
      if (!method || !entryUrl) return fail(400, `Bundle.entry[${i}].request: method and url are required`);
      const entryRoute = this.router.find(method as HttpMethod, entryUrl.split('?')[0]);
      const interaction = entryRoute?.data?.interaction;
      const type = entryRoute?.params.resourceType;
      if (!entryRoute || !interaction || !PERMISSION[interaction] || !type) return fail(400, `Bundle.entry[${i}].request: ${method} ${entryUrl} is not supported in a ${bundle.type}`);
      if (entry.resource) {
        const problem = this.problemWith(entry.resource, type, method === 'PUT' ? entryRoute.params.id : undefined);
        if (problem) return fail(400, `Bundle.entry[${i}]: ${problem}`);
      }
      if (access.open) continue;
      const reach = accessFor(access.scopes, type, PERMISSION[interaction]);
      if (reach === 'denied') return fail(403, `Bundle.entry[${i}]: the token's scopes do not allow ${PERMISSION[interaction]} on ${type}`);
      if (type === 'Subscription' && reach === 'patient-compartment') return fail(403, `Bundle.entry[${i}]: Subscriptions need a user/ or system/ scope, not a patient/ one`);
      if (reach === 'patient-compartment' && (!entry.resource || !this.inCompartment(entry.resource, access.patient))) {
        return fail(403, `Bundle.entry[${i}]: outside the compartment of Patient/${access.patient ?? '?'} this token is for`);
      }
    }
    const [outcome, result] = await this.run('POST', '', {}, bundle, headers, true);
    if (result && bundle.type === 'transaction' && outcome.issue?.every((i) => i.severity !== 'error')) return { status: 200, body: result };
    return this.respond(outcome, result);
  }
}

const ISSUE_CODE: Record<number, OperationOutcomeIssue['code']> = { 401: 'login', 403: 'forbidden', 404: 'not-found', 405: 'not-supported', 413: 'too-costly' };

/** A 4xx answer with an OperationOutcome naming the problem. */
export function fail(status: number, text: string): FhirHttpResult {
  return { status, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: ISSUE_CODE[status] ?? 'invalid', details: { text } }] } };
}
