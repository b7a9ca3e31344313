import type { AppConfig } from '../config/app-config';

/**
 * The base URL clients reach this service at: the first CDS_PUBLIC_URL, else (local demo) localhost:PORT.
 * Never the request's Host header, which a caller controls (it would choose the JWT `aud` and the card links).
 */
export function publicBaseOf(config: Pick<AppConfig, 'publicUrl' | 'port'>): string {
  return config.publicUrl ?? `http://localhost:${config.port}`;
}
