import {
  ArrayMinSize, IsArray, IsIn, IsISO8601, IsNotEmpty, IsOptional, IsString, Matches, MaxLength, ValidateIf, ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';

export class CdsCodingDto {
  @IsString() @IsNotEmpty() @MaxLength(256) code: string;
  @IsOptional() @IsString() @MaxLength(512) system?: string;
  @IsOptional() @IsString() @MaxLength(512) display?: string;
}

export class AcceptedSuggestionDto {
  @IsString() @IsNotEmpty() @MaxLength(128) id: string;
  /** Optional: the ATC3 class of the accepted suggestion (the service fills it for cards it issued). */
  @IsOptional() @IsString() @Matches(/^[A-Z][0-9]{2}[A-Z]$/, { message: 'atc3 must be an ATC level-3 code such as B01A' }) atc3?: string;
  /** Optional: the product (RxNorm or NDC coding) of the accepted suggestion. */
  @IsOptional() @ValidateNested() @Type(() => CdsCodingDto) product?: CdsCodingDto;
}

export class OverrideReasonDto {
  // cds-fb-3: reason or userComment.
  @ValidateIf((o: OverrideReasonDto) => o.userComment === undefined || o.reason !== undefined)
  @ValidateNested() @Type(() => CdsCodingDto)
  reason?: CdsCodingDto;
  @IsOptional() @IsString() @MaxLength(2000) userComment?: string;
}

export class CdsFeedbackItemDto {
  @IsString() @IsNotEmpty() @MaxLength(128) card: string;
  @IsIn(['accepted', 'overridden']) outcome: 'accepted' | 'overridden';

  // cds-fb-1: accepted → acceptedSuggestions.
  @ValidateIf((o: CdsFeedbackItemDto) => o.outcome === 'accepted' || o.acceptedSuggestions !== undefined)
  @IsArray() @ArrayMinSize(1, { message: 'acceptedSuggestions is required when outcome is accepted (cds-fb-1)' })
  @ValidateNested({ each: true }) @Type(() => AcceptedSuggestionDto)
  acceptedSuggestions?: AcceptedSuggestionDto[];

  @IsOptional() @ValidateNested() @Type(() => OverrideReasonDto)
  overrideReason?: OverrideReasonDto;

  @IsISO8601({ strict: true }, { message: 'outcomeTimestamp must be an ISO-8601 instant' })
  outcomeTimestamp: string;
}

export class CdsFeedbackDto {
  @IsArray() @ArrayMinSize(1) @ValidateNested({ each: true }) @Type(() => CdsFeedbackItemDto)
  feedback: CdsFeedbackItemDto[];
}
