import { accessFor, allowedScopes, parseResourceScope, resourceScopes } from './smart-scopes';

describe('SMART scopes', () => {
  it('parses v2 and v1 resource scopes and refuses malformed or granular ones', () => {
    expect(parseResourceScope('patient/Observation.rs')).toEqual({ context: 'patient', type: 'Observation', permissions: new Set(['r', 's']) });
    expect([...(parseResourceScope('user/*.read')?.permissions ?? [])]).toEqual(['r', 's']);
    expect([...(parseResourceScope('system/*.write')?.permissions ?? [])]).toEqual(['c', 'u', 'd']);
    expect([...(parseResourceScope('system/*.*')?.permissions ?? [])]).toEqual(['c', 'r', 'u', 'd', 's']);
    expect(parseResourceScope('patient/Observation.sr')).toBeUndefined(); // v2 letters keep the order c r u d s
    expect(parseResourceScope('patient/Observation.rs?category=laboratory')).toBeUndefined();
    expect(parseResourceScope('launch/patient')).toBeUndefined();
    expect(parseResourceScope('patient/Observation.')).toBeUndefined();
  });

  it('grants only what the registration covers; non-resource scopes pass to the authorization server', () => {
    expect(allowedScopes('launch openid patient/Observation.rs patient/Observation.c user/*.rs', 'launch openid patient/*.rs')).toEqual(['launch', 'openid', 'patient/Observation.rs']);
    expect(allowedScopes('system/*.cruds', 'system/*.rs')).toEqual([]);
    expect(allowedScopes(undefined, 'system/*.rs')).toEqual([]);
  });

  it('decides access per type and interaction: user/system reach everything, patient/ only the compartment', () => {
    const scopes = resourceScopes('patient/*.rs patient/MedicationRequest.c user/Practitioner.r');
    expect(accessFor(scopes, 'Condition', 's')).toBe('patient-compartment');
    expect(accessFor(scopes, 'Condition', 'c')).toBe('denied');
    expect(accessFor(scopes, 'MedicationRequest', 'c')).toBe('patient-compartment');
    expect(accessFor(scopes, 'Practitioner', 'r')).toBe('unrestricted');
    expect(accessFor(scopes, 'Practitioner', 's')).toBe('patient-compartment');
    expect(accessFor(resourceScopes('system/Patient.rs'), 'Condition', 'r')).toBe('denied');
  });
});
