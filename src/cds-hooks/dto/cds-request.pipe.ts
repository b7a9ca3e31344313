import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';
import { validate, ValidationError } from 'class-validator';
import type { CdsRequest } from '../cds-hooks.types';
import { CdsContextDto, CdsRequestDto, FhirAuthorizationDto } from './cds-request.dto';
import { isRecord as isObject } from '../../common/is-record';

/**
 * Validates a service call against the class-validator DTOs without class-transformer's deep copy:
 * prefetch Bundles can be megabytes and are passed through by reference. Unknown fields are kept.
 * Returns the request typed per hook.
 */
@Injectable()
export class CdsRequestPipe implements PipeTransform<unknown, Promise<CdsRequest>> {
  async transform(value: unknown): Promise<CdsRequest> {
    if (!isObject(value)) throw new BadRequestException('The request body must be a JSON object');
    const dto = Object.assign(new CdsRequestDto(), value);
    if (isObject(value.context)) dto.context = Object.assign(new CdsContextDto(), value.context);
    if (isObject(value.fhirAuthorization)) dto.fhirAuthorization = Object.assign(new FhirAuthorizationDto(), value.fhirAuthorization);
    const errors = await validate(dto, { forbidUnknownValues: false, validationError: { target: false, value: false } });
    const messages = flatten(errors);
    if (messages.length === 0) messages.push(...hookSpecificProblems(value));
    if (messages.length > 0) throw new BadRequestException(messages);
    return value as unknown as CdsRequest;
  }
}

function hookSpecificProblems(body: Record<string, unknown>): string[] {
  const context = body.context as Record<string, unknown>;
  const problems: string[] = [];
  if (body.hook === 'order-select' || body.hook === 'order-sign') {
    const draft = context.draftOrders;
    if (!isObject(draft) || draft.resourceType !== 'Bundle') problems.push(`context.draftOrders must be a Bundle (${body.hook})`);
    else if (draft.entry !== undefined && !Array.isArray(draft.entry)) problems.push('context.draftOrders.entry must be an array');
  }
  if (body.hook === 'order-select' && !Array.isArray(context.selections)) problems.push('context.selections must be an array (order-select)');
  if (body.prefetch !== undefined && isObject(body.prefetch)) {
    for (const [key, v] of Object.entries(body.prefetch)) {
      if (v !== null && (!isObject(v) || typeof v.resourceType !== 'string')) problems.push(`prefetch.${key} must be a FHIR resource, a Bundle, an OperationOutcome or null`);
    }
  }
  return problems;
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
