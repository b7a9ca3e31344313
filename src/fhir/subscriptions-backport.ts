/**
 * The FHIR Subscriptions contract both sides of this project speak (the local EHR delivers it, the
 * subscriber receives it and `leader subscribe` asks for it): the patient-chart-change topic and the
 * Subscriptions R5 Backport IG / Medplum extension URLs. Constants only.
 */

/** A patient's chart changed: a created or updated Encounter, Condition, Procedure or (non-proposal) MedicationRequest. */
export const PATIENT_CHART_TOPIC = 'http://leader-cds.org/fhir/SubscriptionTopic/patient-chart-change';
/** The resource types whose changes are events of the topic. */
export const PATIENT_CHART_TYPES = ['Encounter', 'Condition', 'Procedure', 'MedicationRequest'] as const;

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const BACKPORT_URLS = {
  subscriptionProfile: `${BACKPORT}/backport-subscription`,
  notificationProfile: `${BACKPORT}/backport-subscription-notification-r4`,
  statusProfile: `${BACKPORT}/backport-subscription-status-r4`,
  filterCriteria: `${BACKPORT}/backport-filter-criteria`,
  payloadContent: `${BACKPORT}/backport-payload-content`,
  heartbeatPeriod: `${BACKPORT}/backport-heartbeat-period`,
  timeout: `${BACKPORT}/backport-timeout`,
  maxCount: `${BACKPORT}/backport-max-count`,
  topicCanonical: `${BACKPORT}/capabilitystatement-subscriptiontopic-canonical`,
} as const;

/** Medplum's convention: deliveries carry `X-Signature`, the hex HMAC-SHA256 of the raw body with this secret. */
export const MEDPLUM_SECRET_URL = 'https://medplum.com/fhir/StructureDefinition/subscription-secret';
