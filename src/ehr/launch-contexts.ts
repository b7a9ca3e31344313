import { randomBytes } from 'node:crypto';

/** What an EHR launch (or a patient picked in a standalone launch) hands the app with its token. */
export interface LaunchContext {
  patient?: string;
  encounter?: string;
  /** Opaque to the EHR: CDS Hooks passes it from a card's SMART link to the app (a string, often JSON). */
  appContext?: string;
  /** False when the EHR shows its own patient banner around the app (EHR launch). */
  needPatientBanner: boolean;
  /** The OpenID, launch and refresh scopes granted beside the resource scopes (set with the grant). */
  grantedScopes?: string[];
}

const LAUNCH_TTL_MS = 10 * 60_000;

/**
 * Opaque `launch` values minted by the EHR (launcher page, `/_services/smart/Launch`) and the
 * context each grant was given, so the token endpoint and the FHIR server can read it back.
 */
export class LaunchContexts {
  private readonly launches = new Map<string, { context: LaunchContext; expires: number }>();
  private readonly grants = new Map<string, LaunchContext>();

  mint(context: LaunchContext): string {
    const now = Date.now();
    for (const [id, l] of this.launches) if (l.expires < now) this.launches.delete(id);
    const id = randomBytes(16).toString('base64url');
    this.launches.set(id, { context, expires: now + LAUNCH_TTL_MS });
    return id;
  }

  /** The context of a launch value, or undefined when unknown or expired. */
  resolve(launch: string): LaunchContext | undefined {
    const l = this.launches.get(launch);
    return l && l.expires >= Date.now() ? l.context : undefined;
  }

  bindGrant(grantId: string, context: LaunchContext): void {
    this.grants.set(grantId, context);
  }

  ofGrant(grantId: string | undefined): LaunchContext | undefined {
    return grantId ? this.grants.get(grantId) : undefined;
  }
}
