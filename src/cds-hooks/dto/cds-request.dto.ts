import {
  IsArray, IsIn, IsInt, IsNotEmpty, IsNotEmptyObject, IsObject, IsOptional, IsString, Matches, MaxLength,
  ValidateIf, ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { SUPPORTED_HOOKS } from '../cds-hooks.types';

/**
 * Service-call request DTOs. Lenient by design (cds-fhir.md §1.12): unknown fields (extension, 3.0
 * additions) are kept, FHIR resources inside context and prefetch are not validated field by field
 * (the Sandbox sends R4 deviations), only the fields the service relies on are checked.
 */
export class FhirAuthorizationDto {
  @IsString() @IsNotEmpty() access_token: string;
  @IsString() @IsNotEmpty() token_type: string;
  @IsInt() expires_in: number;
  @IsString() scope: string;
  @IsString() subject: string;
  @IsOptional() @IsString() patient?: string;
}

/** `Type/id`, as userId and selections are (logical-model invariant ord-1, relaxed to FHIR id characters). */
const RELATIVE_REFERENCE = /^[A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/;

export class CdsContextDto {
  @IsString() @Matches(RELATIVE_REFERENCE, { message: 'context.userId must be a relative reference like Practitioner/123' })
  userId: string;

  @IsString() @IsNotEmpty() @Matches(/^[A-Za-z0-9\-.]{1,64}$/, { message: 'context.patientId must be a FHIR id' })
  patientId: string;

  @IsOptional() @IsString() @Matches(/^[A-Za-z0-9\-.]{1,64}$/, { message: 'context.encounterId must be a FHIR id' })
  encounterId?: string;

  @IsOptional() @IsArray() @IsString({ each: true }) @Matches(RELATIVE_REFERENCE, { each: true, message: 'context.selections entries must look like MedicationRequest/123' })
  selections?: string[];

  @IsOptional() @IsObject()
  draftOrders?: Record<string, unknown>;
}

export class CdsRequestDto {
  @IsIn(SUPPORTED_HOOKS as unknown as string[], { message: `hook must be one of ${SUPPORTED_HOOKS.join(', ')}` })
  hook: string;

  @IsString() @IsNotEmpty() @MaxLength(128)
  hookInstance: string;

  // cds-r-1: fhirServer is required when fhirAuthorization is given.
  @ValidateIf((o: CdsRequestDto) => o.fhirServer !== undefined || o.fhirAuthorization !== undefined)
  @IsString({ message: 'fhirServer is required when fhirAuthorization is present (cds-r-1)' })
  @Matches(/^https?:\/\/\S+$/, { message: 'fhirServer must be an absolute http(s) URL' })
  fhirServer?: string;

  @IsOptional() @ValidateNested() @Type(() => FhirAuthorizationDto)
  fhirAuthorization?: FhirAuthorizationDto;

  @IsNotEmptyObject({ nullable: false }, { message: 'context must be an object' }) @ValidateNested() @Type(() => CdsContextDto)
  context: CdsContextDto;

  @IsOptional() @IsObject()
  prefetch?: Record<string, unknown>;

  @IsOptional() @IsObject()
  extension?: Record<string, unknown>;
}
