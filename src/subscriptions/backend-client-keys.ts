import { createPrivateKey, createPublicKey, generateKeyPairSync, type JsonWebKey } from 'node:crypto';

/** A private ES384 JWK (P-384) with `kid` and `alg`, as SUBSCRIPTIONS_PRIVATE_KEY_FILE expects. */
export function newBackendPrivateJwk(kid: string): JsonWebKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  return { ...privateKey.export({ format: 'jwk' }), kid, alg: 'ES384', use: 'sig' };
}

/** The public half of a private JWK, with its `kid` and `alg`, for the FHIR server's client registration. */
export function publicJwkOf(privateJwk: JsonWebKey): JsonWebKey {
  const { kid, alg } = privateJwk as JsonWebKey & { kid?: string; alg?: string };
  const pub = createPublicKey(createPrivateKey({ key: privateJwk, format: 'jwk' })).export({ format: 'jwk' });
  return { ...pub, ...(kid ? { kid } : {}), ...(alg ? { alg } : {}), use: 'sig' };
}
