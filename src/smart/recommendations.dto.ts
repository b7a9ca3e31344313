import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsNotEmpty, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** `POST /api/v1/recommendations`: whom to recommend for, read through which FHIR server (with the caller's bearer token). */
export class RecommendationsRequestDto {
  @ApiProperty({ description: 'FHIR R4 base URL; must be on the service allow-list (SMART_FHIR_SERVERS)', example: 'https://ehr.example.org/fhir' })
  @IsString() @IsNotEmpty() @MaxLength(2048)
  fhirServer!: string;

  @ApiProperty({ description: 'Patient id on that FHIR server', example: '10000032' })
  @IsString() @Matches(FHIR_ID, { message: 'patient must be a FHIR id (letters, digits, - and ., at most 64)' })
  patient!: string;

  @ApiPropertyOptional({ description: 'Encounter id of the visit being ordered for (default: the latest visit)' })
  @IsOptional() @IsString() @Matches(FHIR_ID, { message: 'encounter must be a FHIR id (letters, digits, - and ., at most 64)' })
  encounter?: string;

  @ApiPropertyOptional({ description: 'Draft MedicationRequests being ordered now (FHIR R4 resources, status draft)', type: 'array', items: { type: 'object' } })
  @IsOptional() @IsArray() @ArrayMaxSize(100)
  draftOrders?: Record<string, unknown>[];
}

export class ModelInfoDto {
  @ApiProperty() name!: string;
  @ApiProperty() version!: string;
  @ApiProperty({ description: 'Probability above which a class is likely' }) threshold!: number;
  @ApiProperty({ description: 'Model card page' }) card!: string;
}

export class EvidenceDto {
  @ApiProperty({ enum: ['diagnosis', 'procedure', 'medication', 'profile'] }) kind!: string;
  @ApiProperty() token!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'probability with the input minus without it (association, not cause)' }) effect!: number;
}

export class ProductDto {
  @ApiProperty() system!: string;
  @ApiProperty() code!: string;
  @ApiPropertyOptional() display?: string;
  @ApiProperty({ description: 'Why this product, in words' }) because!: string;
}

export class LabelDto {
  @ApiProperty({ example: 'B01A' }) atc3!: string;
  @ApiPropertyOptional() name?: string;
  @ApiPropertyOptional({ description: 'Absent for a drafted class outside the label space (not assessed)' }) probability?: number;
  @ApiProperty() aboveThreshold!: boolean;
  @ApiProperty({ enum: ['new', 'continued', 'drafted'] }) status!: string;
  @ApiProperty({ description: 'A new, likely class offered to the clinician' }) suggested!: boolean;
  @ApiProperty({ type: [String], description: "The patient's drugs in this class" }) drugs!: string[];
  @ApiPropertyOptional({ type: ProductDto }) product?: ProductDto;
  @ApiProperty({ type: [EvidenceDto] }) evidence!: EvidenceDto[];
}

export class InteractionSideDto {
  @ApiProperty() atc3!: string;
  @ApiPropertyOptional() className?: string;
  @ApiProperty() drug!: string;
  @ApiProperty({ enum: ['drafted', 'current', 'suggested'] }) role!: string;
  @ApiPropertyOptional() ended?: string;
}

export class InteractionDto {
  @ApiProperty({ type: InteractionSideDto }) a!: InteractionSideDto;
  @ApiProperty({ type: InteractionSideDto }) b!: InteractionSideDto;
}

export class NamedCodeDto {
  @ApiProperty({ description: 'Vocabulary token (icd10cm:I48.91) or ATC3 class' }) code!: string;
  @ApiPropertyOptional({ description: 'Code system URI' }) system?: string;
  @ApiPropertyOptional() name?: string;
}

export class TimelineMedicationDto {
  @ApiProperty() drug!: string;
  @ApiProperty({ type: [NamedCodeDto] }) classes!: NamedCodeDto[];
  @ApiPropertyOptional() status?: string;
}

export class VisitDto {
  @ApiProperty({ description: "Encounter/<id>; 'current' for the new visit being ordered for when no encounter was named; unlinked:<date> for records without one" }) encounter!: string;
  @ApiPropertyOptional() start?: string;
  @ApiPropertyOptional() end?: string;
  @ApiProperty({ description: 'The visit the recommendation is for' }) target!: boolean;
  @ApiProperty({ type: [NamedCodeDto] }) diagnoses!: NamedCodeDto[];
  @ApiProperty({ type: [NamedCodeDto] }) procedures!: NamedCodeDto[];
  @ApiProperty({ type: [TimelineMedicationDto] }) medications!: TimelineMedicationDto[];
}

export class RecommendationsResponseDto {
  @ApiProperty({ type: ModelInfoDto }) model!: ModelInfoDto;
  @ApiProperty() patient!: string;
  @ApiPropertyOptional({ description: 'Set when the patient is recorded as deceased: nothing is suggested' }) deceased?: boolean;
  @ApiProperty({ type: [LabelDto], description: 'Every label, most likely first' }) labels!: LabelDto[];
  @ApiProperty({ type: [InteractionDto] }) interactions!: InteractionDto[];
  @ApiProperty({ type: [VisitDto], description: 'The visits the model read, oldest first; the last is the target visit' }) timeline!: VisitDto[];
}

export class OverrideCodingDto {
  @ApiProperty() code!: string;
  @ApiPropertyOptional() system?: string;
  @ApiPropertyOptional() display?: string;
}
