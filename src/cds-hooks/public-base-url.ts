import type { HttpRequest } from '../common/http.types';

/**
 * The base URL clients reach this service at: CDS_PUBLIC_URL behind a proxy, else the request's own
 * protocol://host. Card links and the JWT `aud` check both start from it.
 */
export function publicBaseOf(req: HttpRequest, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
}
