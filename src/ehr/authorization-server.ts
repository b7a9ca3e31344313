import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientMetadata, Configuration, KoaContextWithOIDC, default as ProviderType } from 'oidc-provider' with { 'resolution-mode': 'import' };
import type { EhrClient } from './ehr-clients';
import { type LaunchContext, LaunchContexts } from './launch-contexts';
import { allowedScopes, parseResourceScope, resourceScopes, type ResourceScope } from './smart-scopes';

/** Non-resource scopes the server grants (OpenID Connect, SMART launch context, refresh tokens). */
export const LAUNCH_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient', 'launch/encounter'];

/** SMART capabilities advertised in `.well-known/smart-configuration` (and really implemented). */
export const SMART_CAPABILITIES = [
  'launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-asymmetric',
  'context-ehr-patient', 'context-ehr-encounter', 'context-standalone-patient', 'context-banner', 'context-style',
  'permission-v2', 'permission-v1', 'permission-patient', 'permission-user', 'permission-offline', 'permission-online',
  'sso-openid-connect',
];

export interface AuthorizationServerOptions {
  /** The FHIR base URL: the token audience (`aud`) apps must ask for. */
  fhirBase: string;
  /** The issuer, `${origin}/oauth`. */
  issuer: string;
  clients: EhrClient[];
  /** The demo practitioner the login page signs in, as `Practitioner/<id>`, and their name. */
  practitioner: { reference: string; name: string };
  smartStyleUrl: string;
}

/** What a valid access token allows in the FHIR server. */
export interface TokenGrant {
  clientId: string;
  scopes: ResourceScope[];
  patient?: string;
}

/** The client the EHR itself uses to hand CDS services a token for the patient in context. */
const EHR_INTERNAL_CLIENT = 'leader-ehr-cds-client';

/**
 * SMART App Launch 2.x and Backend Services on panva's oidc-provider: PKCE S256 required (its
 * only method, so `plain` is refused), `launch` and `aud` accepted on authorize, launch context
 * added to the token response, refresh tokens with `offline_access`/`online_access`, and
 * `client_credentials` with a `private_key_jwt` assertion (RS384/ES384). Login and consent are the
 * EHR's own pages: the demo practitioner signs in without a password; an EHR launch is
 * pre-authorised, a standalone launch asking for `launch/patient` shows a patient picker.
 */
export class AuthorizationServer {
  readonly launches = new LaunchContexts();
  private readonly clients: Map<string, EhrClient>;

  private constructor(readonly provider: ProviderType, private readonly options: AuthorizationServerOptions) {
    this.clients = new Map(options.clients.map((c) => [c.client_id, c]));
  }

  static async create(options: AuthorizationServerOptions): Promise<AuthorizationServer> {
    // oidc-provider is ESM-only: a real import() (module node16 keeps it one).
    const { default: Provider, errors } = await import('oidc-provider');
    const registered = new Map(options.clients.map((c) => [c.client_id, c]));
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'leader-ehr-1', use: 'sig', alg: 'RS256' };
    // Filled in below: the provider's callbacks need the server they are part of.
    const built: { server?: AuthorizationServer } = {};

    const grantable = (ctx: KoaContextWithOIDC, clientId: string | undefined): string => {
      const client = clientId ? registered.get(clientId) : undefined;
      if (!client) return '';
      const entities = ctx.oidc.entities as { AuthorizationCode?: { scope?: string }; RefreshToken?: { scope?: string } };
      const requested = (ctx.oidc.params?.scope as string | undefined) ?? entities.AuthorizationCode?.scope ?? entities.RefreshToken?.scope;
      return allowedScopes(requested, client.scope).filter((s) => parseResourceScope(s)).join(' ');
    };

    const configuration: Configuration = {
      clients: [...options.clients.map(toClientMetadata), {
        client_id: EHR_INTERNAL_CLIENT, token_endpoint_auth_method: 'none', grant_types: [], response_types: [], redirect_uris: [],
      }],
      jwks: { keys: [signingKey as never] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      pkce: { required: () => true },
      extraParams: ['launch', 'aud'],
      scopes: LAUNCH_SCOPES,
      claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name'] },
      conformIdTokenClaims: false,
      findAccount: async (_ctx, sub) => ({
        accountId: sub,
        claims: async () => ({ sub, fhirUser: `${options.fhirBase}/${sub}`, name: options.practitioner.name }),
      }),
      // Every authorization gets its own grant (and launch context): only the one consent just made, never an older one.
      loadExistingGrant: async (ctx) => {
        const grantId = (ctx.oidc.result as { consent?: { grantId?: string } } | undefined)?.consent?.grantId;
        return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
      },
      interactions: { url: (_ctx, interaction) => `${new URL(options.issuer).pathname}/interaction/${interaction.uid}` },
      issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token')
        && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
      enabledJWA: { clientAuthSigningAlgValues: ['RS384', 'ES384', 'RS256', 'ES256'], idTokenSigningAlgValues: ['RS256'] },
      clientBasedCORS: () => true, // a local test EHR: any browser app may call the token endpoint
      ttl: { AccessToken: 3600, AuthorizationCode: 120, ClientCredentials: 900, IdToken: 3600, RefreshToken: 7 * 86400, Interaction: 900, Session: 8 * 3600, Grant: 7 * 86400 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        revocation: { enabled: true },
        introspection: { enabled: true },
        userinfo: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => options.fhirBase,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (ctx, resource, client) => {
            if (resource !== options.fhirBase) throw new errors.InvalidTarget(`the only resource here is ${options.fhirBase}`);
            return { scope: grantable(ctx, client.clientId), audience: options.fhirBase, accessTokenFormat: 'opaque', accessTokenTTL: 3600 };
          },
        },
      },
      renderError: async (ctx, out) => {
        ctx.type = 'html';
        ctx.body = `<!doctype html><meta charset="utf-8"><title>leader ehr: ${escapeHtml(String(out.error))}</title><h1>Local test EHR</h1><p><b>${escapeHtml(String(out.error))}</b>: ${escapeHtml(String(out.error_description ?? ''))}</p>`;
      },
    };
    const provider = new Provider(options.issuer, configuration);
    provider.proxy = false;
    // OpenID Connect drops offline_access unless the request says prompt=consent; SMART apps never
    // say it, and this EHR runs its consent step on every authorization anyway, so say it for them.
    const mountPath = new URL(options.issuer).pathname;
    provider.use(async (ctx, next) => {
      (ctx as { mountPath?: string }).mountPath = mountPath; // URLs it builds keep the /oauth prefix
      if (ctx.path === '/auth' && ctx.method === 'GET') {
        const query = new URLSearchParams(ctx.querystring);
        const prompt = (query.get('prompt') ?? '').split(' ').filter(Boolean);
        if (query.get('scope')?.split(' ').includes('offline_access') && !prompt.includes('consent') && !prompt.includes('none')) {
          query.set('prompt', [...prompt, 'consent'].join(' '));
          ctx.querystring = query.toString();
        }
      }
      await next();
    });
    // SMART launch context rides on the token response (SMART App Launch 2.x §"Launch context").
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route !== 'token' || ctx.status !== 200) return;
      const body = ctx.body as Record<string, unknown> | undefined;
      const token = (ctx.oidc.entities as { AccessToken?: { grantId?: string } }).AccessToken;
      const launch = built.server?.launches.ofGrant(token?.grantId);
      if (!body || !launch) return;
      body.scope = [...(launch.grantedScopes ?? []), ...String(body.scope ?? '').split(' ').filter(Boolean)].join(' ');
      if (launch.patient) body.patient = launch.patient;
      if (launch.encounter) body.encounter = launch.encounter;
      if (launch.appContext !== undefined) body.appContext = launch.appContext;
      body.need_patient_banner = launch.needPatientBanner;
      body.smart_style_url = options.smartStyleUrl;
    });
    built.server = new AuthorizationServer(provider, options);
    return built.server;
  }

  /** `.well-known/smart-configuration` for the FHIR base. */
  smartConfiguration(): Record<string, unknown> {
    const p = this.provider;
    return {
      issuer: this.options.issuer,
      jwks_uri: p.urlFor('jwks'),
      authorization_endpoint: p.urlFor('authorization'),
      token_endpoint: p.urlFor('token'),
      introspection_endpoint: p.urlFor('introspection'),
      revocation_endpoint: p.urlFor('revocation'),
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
      scopes_supported: [...LAUNCH_SCOPES, 'patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs', 'system/*.cruds'],
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      capabilities: SMART_CAPABILITIES,
    };
  }

  /** The grant behind a bearer token, or undefined when it is unknown, expired or for another audience. */
  async resolveToken(value: string): Promise<TokenGrant | undefined> {
    const p = this.provider;
    const token = (await p.AccessToken.find(value)) ?? (await p.ClientCredentials.find(value));
    if (!token) return undefined;
    const aud = token.aud;
    if (!(Array.isArray(aud) ? aud.includes(this.options.fhirBase) : aud === this.options.fhirBase)) return undefined;
    const launch = 'grantId' in token ? this.launches.ofGrant(token.grantId) : undefined;
    return { clientId: token.clientId ?? '', scopes: resourceScopes(token.scope), patient: launch?.patient };
  }

  /**
   * A token the EHR hands a CDS service with a hook call (`fhirAuthorization`): read and search on
   * the patient in context only.
   */
  async tokenForCdsService(patient: string): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number; scope: string; subject: string }> {
    const p = this.provider;
    const scope = 'patient/*.rs';
    const client = await p.Client.find(EHR_INTERNAL_CLIENT);
    if (!client) throw new Error('the EHR internal client is missing');
    const grant = new p.Grant({ clientId: EHR_INTERNAL_CLIENT, accountId: this.options.practitioner.reference });
    grant.addResourceScope(this.options.fhirBase, scope);
    const grantId = await grant.save();
    this.launches.bindGrant(grantId, { patient, needPatientBanner: false });
    const resourceServer = new p.ResourceServer(this.options.fhirBase, { scope, audience: this.options.fhirBase, accessTokenFormat: 'opaque' });
    const token = new p.AccessToken({ client, accountId: this.options.practitioner.reference, grantId, gty: 'cds-hooks', scope, resourceServer });
    const value = await token.save();
    return { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope, subject: EHR_INTERNAL_CLIENT };
  }

  /**
   * SMART's refresh request from a public app carries no client_id (App Launch 2.x §"Refresh
   * access token"); OAuth servers want the client named. Names it from the refresh token itself.
   */
  async nameRefreshingClient(form: URLSearchParams, authorization: string | undefined): Promise<void> {
    if (form.get('grant_type') !== 'refresh_token' || form.has('client_id') || form.has('client_assertion') || authorization) return;
    const token = await this.provider.RefreshToken.find(form.get('refresh_token') ?? '');
    if (token?.clientId && this.clients.get(token.clientId)?.type === 'public') form.set('client_id', token.clientId);
  }

  registeredClients(): EhrClient[] {
    return [...this.clients.values()];
  }

  /**
   * The login and consent steps (`/oauth/interaction/<uid>[/login|/patient]`). `render` writes an
   * HTML page: the login page or the patient picker.
   */
  async interaction(req: IncomingMessage, res: ServerResponse, step: string | undefined, form: URLSearchParams, pages: InteractionPages): Promise<void> {
    const p = this.provider;
    const details = await p.interactionDetails(req, res);
    const params = details.params as Record<string, string | undefined>;
    const client = this.clients.get(String(params.client_id));
    const finish = (result: Parameters<ProviderType['interactionFinished']>[2]) => p.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
    if (details.prompt.name === 'login') {
      if (step === 'login' && req.method === 'POST') return finish({ login: { accountId: this.options.practitioner.reference } });
      return pages.login(res, { uid: details.uid, clientName: client?.name ?? String(params.client_id), practitioner: this.options.practitioner.name });
    }
    if (params.aud !== this.options.fhirBase) {
      return finish({ error: 'invalid_request', error_description: `aud must be the FHIR base URL ${this.options.fhirBase} (got ${params.aud ?? 'none'})` });
    }
    const scopes = new Set(String(params.scope ?? '').split(' '));
    let context: LaunchContext;
    if (params.launch !== undefined) {
      const launched = this.launches.resolve(params.launch);
      if (!launched) return finish({ error: 'invalid_request', error_description: 'launch is unknown or expired: launch the app again from the EHR' });
      context = { ...launched };
    } else if (scopes.has('launch/patient')) {
      const picked = step === 'patient' && req.method === 'POST' ? form.get('patient') : undefined;
      if (!picked) return pages.patientPicker(res, { uid: details.uid, clientName: client?.name ?? String(params.client_id) });
      context = { patient: picked, needPatientBanner: true };
    } else {
      context = { needPatientBanner: true };
    }
    const registered = client?.scope.split(/\s+/) ?? [];
    context.grantedScopes = [...scopes].filter((s) => LAUNCH_SCOPES.includes(s) && registered.includes(s));
    const grant = new p.Grant({ accountId: details.session?.accountId, clientId: String(params.client_id) });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, list] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(resource, list.join(' '));
    const grantId = await grant.save();
    this.launches.bindGrant(grantId, context);
    return finish({ consent: { grantId } });
  }
}

export interface InteractionPages {
  login(res: ServerResponse, view: { uid: string; clientName: string; practitioner: string }): Promise<void>;
  patientPicker(res: ServerResponse, view: { uid: string; clientName: string }): Promise<void>;
}

function toClientMetadata(c: EhrClient): ClientMetadata {
  const ownScopes = c.scope.split(/\s+/).filter((s) => LAUNCH_SCOPES.includes(s));
  const common = { client_id: c.client_id, client_name: c.name, scope: ownScopes.join(' ') || undefined };
  if (c.type === 'backend') {
    return { ...common, token_endpoint_auth_method: 'private_key_jwt', jwks: c.jwks as never, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
  }
  return {
    ...common,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...(c.type === 'public' ? { token_endpoint_auth_method: 'none' } : { token_endpoint_auth_method: 'private_key_jwt', jwks: c.jwks as never }),
  };
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
