import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateIf, ValidateNested } from 'class-validator';

export class SmartFeedbackCodingDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(256) code!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) system?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(512) display?: string;
}

/** What the clinician did with one class in the app: drafted an order for it, or declined it with a reason. */
export class SmartFeedbackRequestDto {
  @ApiProperty({ description: 'FHIR base the app works on (allow-listed); the token is checked against it' })
  @IsString() @IsNotEmpty() @MaxLength(2048)
  fhirServer!: string;

  @ApiProperty() @IsString() @Matches(/^[A-Za-z0-9\-.]{1,64}$/, { message: 'patient must be a FHIR id' })
  patient!: string;

  @ApiProperty({ example: 'B01A' }) @IsString() @Matches(/^[A-Z][0-9]{2}[A-Z]$/, { message: 'atc3 must be an ATC level-3 code such as B01A' })
  atc3!: string;

  @ApiProperty({ enum: ['accepted', 'overridden'], description: 'accepted: a draft order was created; overridden: declined' })
  @IsIn(['accepted', 'overridden'])
  outcome!: 'accepted' | 'overridden';

  @ApiPropertyOptional({ description: 'MedicationRequest/<id> of the draft created (accepted)' })
  @ValidateIf((o: SmartFeedbackRequestDto) => o.outcome === 'accepted' || o.draftOrder !== undefined)
  @IsString() @Matches(/^MedicationRequest\/[A-Za-z0-9\-.]{1,64}$/, { message: 'draftOrder must be MedicationRequest/<id> (required when accepted)' })
  draftOrder?: string;

  @ApiPropertyOptional({ type: SmartFeedbackCodingDto, description: 'The product of the draft order' })
  @IsOptional() @ValidateNested() @Type(() => SmartFeedbackCodingDto)
  product?: SmartFeedbackCodingDto;

  @ApiPropertyOptional({ type: SmartFeedbackCodingDto, description: 'Why the class was declined (required when overridden): one of the CDS cards\' override reasons' })
  @ValidateIf((o: SmartFeedbackRequestDto) => o.outcome === 'overridden' || o.overrideReason !== undefined)
  @ValidateNested() @Type(() => SmartFeedbackCodingDto)
  overrideReason?: SmartFeedbackCodingDto;

  @ApiPropertyOptional({ description: 'Hook instance of the CDS card that launched the app (appContext)' })
  @IsOptional() @IsString() @MaxLength(128)
  hookInstance?: string;

  @ApiProperty() @IsISO8601({ strict: true }, { message: 'outcomeTimestamp must be an ISO-8601 instant' })
  outcomeTimestamp!: string;
}

export class SmartFeedbackResponseDto {
  @ApiProperty() stored!: number;
  @ApiProperty() duplicates!: number;
}
