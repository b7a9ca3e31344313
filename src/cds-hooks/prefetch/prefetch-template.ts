/**
 * CDS Hooks 2.0 prefetch tokens (cds-fhir.md §1.4): `{{context.<first-level primitive>}}` and the
 * user tokens derived from context.userId. FHIRPath tokens are 3.0-only and rejected.
 */
const TOKEN = /\{\{\s*([^}]*?)\s*\}\}/g;
const USER_TOKENS: Record<string, string> = {
  userPractitionerId: 'Practitioner',
  userPractitionerRoleId: 'PractitionerRole',
  userPatientId: 'Patient',
  userRelatedPersonId: 'RelatedPerson',
};

/** The problems of a template under 2.0 token rules; empty when valid. */
export function templateProblems(template: string): string[] {
  const problems: string[] = [];
  for (const m of template.matchAll(TOKEN)) {
    const token = m[1];
    if (!/^context\.[A-Za-z][A-Za-z0-9]*$/.test(token) && !(token in USER_TOKENS)) {
      problems.push(`token {{${token}}} is not a CDS Hooks 2.0 prefetch token`);
    }
  }
  if (/^\/|^https?:/i.test(template)) problems.push('template must be a relative FHIR query');
  return problems;
}

/** Fill a template's tokens from the context; undefined when a token has no primitive value. */
export function fillTemplate(template: string, context: Record<string, unknown>): string | undefined {
  let unresolved = false;
  const filled = template.replace(TOKEN, (_all, token: string) => {
    let value: unknown;
    if (token.startsWith('context.')) value = context[token.slice('context.'.length)];
    else if (token in USER_TOKENS) {
      const userId = context.userId;
      const prefix = `${USER_TOKENS[token]}/`;
      value = typeof userId === 'string' && userId.startsWith(prefix) ? userId.slice(prefix.length) : undefined;
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      unresolved = true;
      return '';
    }
    return encodeURIComponent(String(value));
  });
  return unresolved ? undefined : filled;
}
