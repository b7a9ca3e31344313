import { OVERRIDE_REASONS } from '../cds-hooks/cards/card.builder';

/** The client id the app asks EHRs for (an EHR registers the app under it: README "SMART app"). */
export const SMART_APP_CLIENT_ID = 'leader-cds-medication-review';

/** Narrow SMART v2 scopes: read what the recommendation reads, create draft orders; nothing else. */
export const SMART_APP_RESOURCE_SCOPES = [
  'patient/Patient.rs', 'patient/Encounter.rs', 'patient/Condition.rs', 'patient/Procedure.rs',
  'patient/MedicationRequest.rs', 'patient/MedicationRequest.c',
  // The drug of an order is often a Medication resource: without it the order's class is unknown to the model.
  'patient/Medication.rs',
];

/**
 * Scopes per launch: EHR launch echoes `launch`; a standalone launch asks for `launch/patient` (the
 * EHR's patient picker). `online_access` lets the app refresh an expired token once while the user
 * is signed in to the EHR.
 */
export const SMART_APP_SCOPES = {
  ehr: ['launch', 'openid', 'fhirUser', 'online_access', ...SMART_APP_RESOURCE_SCOPES].join(' '),
  standalone: ['launch/patient', 'openid', 'fhirUser', 'online_access', ...SMART_APP_RESOURCE_SCOPES].join(' '),
};

/** What the browser app reads from `/smart/config.json`. */
export function smartAppConfig(clientId: string) {
  return { clientId, scopes: SMART_APP_SCOPES, overrideReasons: OVERRIDE_REASONS };
}

/** The app as an EHR registers it (a public client, PKCE), for a service reached at `base`. */
export function smartAppRegistration(base: string, clientId = SMART_APP_CLIENT_ID) {
  const root = base.replace(/\/+$/, '');
  return {
    client_id: clientId,
    name: 'Medication review (leader-cds)',
    type: 'public' as const,
    scope: `${SMART_APP_SCOPES.ehr} launch/patient`,
    launch_url: `${root}/smart/launch`,
    redirect_uris: [`${root}/smart/`],
  };
}
