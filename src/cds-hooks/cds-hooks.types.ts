/**
 * CDS Hooks 2.0 wire objects (https://cds-hooks.hl7.org/2.0/), named and shaped as in the spec.
 * Optional fields are omitted, never null or empty (cds-fhir.md §1.5).
 */
import type { Bundle, FhirResource, MedicationRequest, OperationOutcome, Resource } from 'fhir/r4';

export const SUPPORTED_HOOKS = ['patient-view', 'order-select', 'order-sign'] as const;
export type CdsHookName = (typeof SUPPORTED_HOOKS)[number];

export interface CdsServiceDescriptor {
  hook: CdsHookName;
  id: string;
  title?: string;
  description: string;
  prefetch?: Record<string, string>;
  usageRequirements?: string;
}

export interface CdsDiscoveryResponse {
  services: CdsServiceDescriptor[];
}

export interface CdsFhirAuthorization {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  subject: string;
  patient?: string;
}

/** A prefetch value as the client may send it: resource, searchset Bundle, null (known empty) or an OperationOutcome. */
export type CdsPrefetchValue = Resource | Bundle | OperationOutcome | null;

interface CdsRequestBase {
  hookInstance: string;
  fhirServer?: string;
  fhirAuthorization?: CdsFhirAuthorization;
  prefetch?: Record<string, CdsPrefetchValue>;
  extension?: Record<string, unknown>;
}

export interface PatientViewContext {
  userId: string;
  patientId: string;
  encounterId?: string;
}

/** draftOrders as clients send it: a Bundle, with `type` possibly missing (the Sandbox sends none). */
export type CdsDraftOrders = Omit<Bundle<FhirResource>, 'type'> & { type?: Bundle['type'] };

export interface OrderSelectContext extends PatientViewContext {
  selections: string[];
  draftOrders: CdsDraftOrders;
}

export interface OrderSignContext extends PatientViewContext {
  draftOrders: CdsDraftOrders;
}

export interface PatientViewRequest extends CdsRequestBase {
  hook: 'patient-view';
  context: PatientViewContext;
}
export interface OrderSelectRequest extends CdsRequestBase {
  hook: 'order-select';
  context: OrderSelectContext;
}
export interface OrderSignRequest extends CdsRequestBase {
  hook: 'order-sign';
  context: OrderSignContext;
}
/** A service call, discriminated on `hook`. */
export type CdsRequest = PatientViewRequest | OrderSelectRequest | OrderSignRequest;

export type CdsIndicator = 'info' | 'warning' | 'critical';
export type CdsSelectionBehavior = 'at-most-one' | 'any';

export interface CdsCoding {
  code: string;
  system?: string;
  display?: string;
}

export interface CdsSource {
  label: string;
  url?: string;
  icon?: string;
  topic?: CdsCoding;
}

export interface CdsAction {
  type: 'create' | 'update' | 'delete';
  description: string;
  resource?: MedicationRequest | Resource;
  resourceId?: string;
}

export interface CdsSuggestion {
  label: string;
  uuid?: string;
  isRecommended?: boolean;
  actions?: CdsAction[];
}

export interface CdsLink {
  label: string;
  url: string;
  type: 'absolute' | 'smart';
  appContext?: string;
  autolaunchable?: boolean;
}

export interface CdsCard {
  uuid?: string;
  summary: string;
  detail?: string;
  indicator: CdsIndicator;
  source: CdsSource;
  suggestions?: CdsSuggestion[];
  selectionBehavior?: CdsSelectionBehavior;
  overrideReasons?: CdsCoding[];
  links?: CdsLink[];
}

export interface CdsResponse {
  cards: CdsCard[];
  systemActions?: CdsAction[];
}

/** Which suggestion feedback is about: the class and product it proposed (filled in by the service). */
export interface CdsFeedbackSuggestion {
  id: string;
  outcome: 'accepted' | 'overridden';
  atc3?: string;
  product?: CdsCoding;
}

export interface CdsFeedbackItem {
  card: string;
  outcome: 'accepted' | 'overridden';
  /** `atc3` / `product`: optional extensions a client may send (our SMART app does); the service knows them for its own cards. */
  acceptedSuggestions?: { id: string; atc3?: string; product?: CdsCoding }[];
  suggestions?: CdsFeedbackSuggestion[];
  overrideReason?: { reason?: CdsCoding; userComment?: string };
  outcomeTimestamp: string;
}

export interface CdsFeedbackRequest {
  feedback: CdsFeedbackItem[];
}
