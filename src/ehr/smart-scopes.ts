/**
 * SMART App Launch 2.x resource scopes (`patient/Observation.rs`, `user/*.cruds`, `system/*.rs`)
 * and the v1 forms they replace (`.read` = `.rs`, `.write` = `.cud`, `.*` = `.cruds`). Granular
 * scopes with a query (`patient/Observation.rs?category=…`) are not granted: honouring them only
 * in part would give more than asked.
 */
export type ScopeContext = 'patient' | 'user' | 'system';
/** c create, r read (and vread, history), u update, d delete, s search. */
export type Permission = 'c' | 'r' | 'u' | 'd' | 's';

export interface ResourceScope {
  context: ScopeContext;
  /** A resource type or `*`. */
  type: string;
  permissions: ReadonlySet<Permission>;
}

const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.(read|write|\*|c?r?u?d?s?)$/;

export function parseResourceScope(scope: string): ResourceScope | undefined {
  const m = SCOPE.exec(scope);
  if (!m || m[3] === '') return undefined;
  const letters = m[3] === 'read' ? 'rs' : m[3] === 'write' ? 'cud' : m[3] === '*' ? 'cruds' : m[3];
  return { context: m[1] as ScopeContext, type: m[2], permissions: new Set(letters.split('') as Permission[]) };
}

/** The resource scopes among a space-separated scope string. */
export function resourceScopes(scope: string | undefined): ResourceScope[] {
  return (scope ?? '').split(' ').flatMap((s) => parseResourceScope(s) ?? []);
}

/** Whether `granted` covers all of `wanted` (same context, `*` covers any type, permissions a superset). */
export function scopeCovers(granted: ResourceScope, wanted: ResourceScope): boolean {
  return granted.context === wanted.context
    && (granted.type === '*' || granted.type === wanted.type)
    && [...wanted.permissions].every((p) => granted.permissions.has(p));
}

/**
 * The requested scopes a client may have: every non-resource scope passes (the authorization
 * server knows those), a resource scope only if one of the client's registered scopes covers it.
 */
export function allowedScopes(requested: string | undefined, registered: string): string[] {
  const mine = resourceScopes(registered);
  return (requested ?? '').split(' ').filter((s) => {
    if (s === '') return false;
    const wanted = parseResourceScope(s);
    return wanted ? mine.some((g) => scopeCovers(g, wanted)) : !/^(patient|user|system)\//.test(s);
  });
}

export type Access = 'denied' | 'patient-compartment' | 'unrestricted';

/**
 * What `scopes` allow for `permission` on `type`: user/ and system/ scopes reach every record the
 * user or client may see; patient/ scopes only the launch patient's compartment.
 */
export function accessFor(scopes: ResourceScope[], type: string, permission: Permission): Access {
  const matching = scopes.filter((s) => (s.type === '*' || s.type === type) && s.permissions.has(permission));
  if (matching.some((s) => s.context !== 'patient')) return 'unrestricted';
  return matching.length > 0 ? 'patient-compartment' : 'denied';
}
