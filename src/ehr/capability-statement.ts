import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { BACKPORT_URLS, PATIENT_CHART_TOPIC } from './subscription-config';

/** The router interactions `leader ehr` serves (others answer 405). */
export const SUPPORTED_INTERACTIONS: ReadonlySet<string> = new Set([
  'read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'patch', 'delete', 'batch',
]);

const TYPE_INTERACTIONS: CapabilityStatementRestResource['interaction'] = [
  'read', 'vread', 'history-instance', 'search-type', 'create', 'update', 'patch', 'delete',
].map((code) => ({ code: code as 'read' }));

/** The Backport IG's way to advertise topics and its operations on R4. */
const SUBSCRIPTION_SUPPORT: Partial<CapabilityStatementRestResource> = {
  supportedProfile: [BACKPORT_URLS.subscriptionProfile],
  extension: [{ url: BACKPORT_URLS.topicCanonical, valueCanonical: PATIENT_CHART_TOPIC }],
  operation: [
    { name: 'status', definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status' },
    { name: 'events', definition: 'http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events' },
  ],
};

/**
 * What the server really does: every R4 resource type with Medplum's search parameters for it,
 * `_include` on its reference parameters, conditional create, transaction and batch, and SMART
 * App Launch on the security block.
 */
export function buildCapabilityStatement(baseUrl: string, smart: { authorize: string; token: string }): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = getResourceTypes().sort().map((type) => {
    const params = Object.values(getSearchParameters(type) ?? {});
    return {
      type,
      interaction: TYPE_INTERACTIONS,
      versioning: 'versioned',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      searchInclude: params.filter((p) => p.type === 'reference').map((p) => `${type}:${p.code}`),
      searchParam: params.map((p) => ({ name: p.code as string, definition: p.url, type: p.type })),
      ...(type === 'Subscription' ? SUBSCRIPTION_SUPPORT : {}),
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'leader ehr (local test EHR on @medplum/fhir-router)' },
    implementation: { description: 'Local test EHR: not a clinical data store; data lives in memory only', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{
      mode: 'server',
      security: {
        cors: true,
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        extension: [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [{ url: 'authorize', valueUri: smart.authorize }, { url: 'token', valueUri: smart.token }],
        }],
      },
      resource,
      interaction: [{ code: 'transaction' }, { code: 'batch' }],
    }],
  };
}
