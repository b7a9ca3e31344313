import { BadRequestException, Inject, Injectable, PayloadTooLargeException, PipeTransform } from '@nestjs/common';
import { validate, ValidationError } from 'class-validator';
import type { CdsRequest } from '../cds-hooks.types';
import { CdsContextDto, CdsRequestDto, FhirAuthorizationDto } from './cds-request.dto';
import { resourceShapeSteps } from './fhir-shape';
import { FORBIDDEN_KEYS } from '../../common/json-body';
import { APP_CONFIG } from '../../config/config.module';
import type { AppConfig } from '../../config/app-config';
import { operationOutcome } from '../../common/operation-outcome';
import { runYielding } from '../serving/serving.tokens';
import { isRecord as isObject } from '../../common/is-record';

/**
 * Validates a service call against the class-validator DTOs without class-transformer's deep copy:
 * prefetch Bundles can be megabytes and are passed through by reference. Unknown fields are kept.
 * Returns the request typed per hook.
 */
@Injectable()
export class CdsRequestPipe implements PipeTransform<unknown, Promise<CdsRequest>> {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async transform(value: unknown): Promise<CdsRequest> {
    if (!isObject(value)) throw new BadRequestException('The request body must be a JSON object');
    // The body parser refuses these keys anywhere (common/json-body); the DTO levels are checked here too.
    for (const [at, level] of [['', value], ['context.', value.context], ['fhirAuthorization.', value.fhirAuthorization]] as const) {
      const bad = isObject(level) ? Object.keys(level).find((k) => FORBIDDEN_KEYS.has(k)) : undefined;
      if (bad !== undefined) throw new BadRequestException(`${at}${bad}: this key is not allowed in a request`);
    }
    const dto = dtoOf(CdsRequestDto, value);
    if (isObject(value.context)) dto.context = dtoOf(CdsContextDto, value.context);
    if (isObject(value.fhirAuthorization)) dto.fhirAuthorization = dtoOf(FhirAuthorizationDto, value.fhirAuthorization);
    const errors = await validate(dto, { forbidUnknownValues: false, validationError: { target: false, value: false } });
    const messages = flatten(errors);
    if (messages.length === 0) {
      tooManyResources(value, this.config.maxResourcesPerKey);
      messages.push(...(await runYielding(hookSpecificProblems(value))));
    }
    if (messages.length > 0) throw new BadRequestException(messages);
    return value as unknown as CdsRequest;
  }
}

/** 413 before any per-resource work when a prefetch key holds more resources than the service reads. */
function tooManyResources(body: Record<string, unknown>, max: number): void {
  if (!isObject(body.prefetch)) return;
  for (const [key, v] of Object.entries(body.prefetch)) {
    const entry = isObject(v) ? v.entry : undefined;
    if (Array.isArray(entry) && entry.length > max) {
      throw new PayloadTooLargeException(operationOutcome('too-costly', [`prefetch.${key} holds ${entry.length} resources; at most ${max} per key (CDS_MAX_RESOURCES_PER_KEY)`]));
    }
  }
}

function* hookSpecificProblems(body: Record<string, unknown>): Generator<string, string[], void> {
  const context = body.context as Record<string, unknown>;
  const problems: string[] = [];
  if (body.hook === 'order-select' || body.hook === 'order-sign') {
    const draft = context.draftOrders;
    if (!isObject(draft) || draft.resourceType !== 'Bundle') problems.push(`context.draftOrders must be a Bundle (${body.hook})`);
    else if (draft.entry !== undefined && !Array.isArray(draft.entry)) problems.push('context.draftOrders.entry must be an array');
  }
  if (body.hook === 'order-select' && !Array.isArray(context.selections)) problems.push('context.selections must be an array (order-select)');
  if (problems.length === 0 && (body.hook === 'order-select' || body.hook === 'order-sign')) yield* resourceShapeSteps(context.draftOrders, 'context.draftOrders', problems);
  if (body.prefetch !== undefined && isObject(body.prefetch)) {
    for (const [key, v] of Object.entries(body.prefetch)) {
      if (v === null) continue;
      if (!isObject(v) || typeof v.resourceType !== 'string') problems.push(`prefetch.${key} must be a FHIR resource, a Bundle, an OperationOutcome or null`);
      else yield* resourceShapeSteps(v, `prefetch.${key}`, problems);
    }
  }
  return problems.slice(0, 20);
}

function flatten(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const name = prefix ? `${prefix}.${e.property}` : e.property;
    for (const message of Object.values(e.constraints ?? {})) {
      out.push(message.startsWith(e.property) && prefix ? `${prefix}.${message}` : message);
    }
    if (e.children && e.children.length > 0) out.push(...flatten(e.children, name));
  }
  return out;
}

/**
 * A DTO instance holding the body's own fields. Fields are defined, not assigned: a `__proto__`
 * key must never become the instance's prototype (that switches class-validator off).
 */
function dtoOf<T extends object>(Dto: new () => T, value: Record<string, unknown>): T {
  const dto = new Dto();
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    Object.defineProperty(dto, key, { value: value[key], enumerable: true, writable: true, configurable: true });
  }
  return dto;
}
