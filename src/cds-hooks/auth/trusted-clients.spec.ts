import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fhirServerAllowed, loadTrustedClients, TrustedClientsError } from './trusted-clients';

describe(loadTrustedClients.name, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trusted-clients-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('reads the shipped Sandbox example', () => {
    const sut = loadTrustedClients(path.join(__dirname, '..', '..', '..', 'config', 'cds-clients.sandbox.example.json'));
    expect(sut).toEqual([expect.objectContaining({ iss: 'https://sandbox.cds-hooks.org', jwksUrl: 'https://sandbox.cds-hooks.org/.well-known/jwks.json', algorithms: ['ES384'] })]);
  });

  it.each([
    ['not JSON', '{'],
    ['no clients list', '{}'],
    ['a client without keys', '{"clients":[{"iss":"x"}]}'],
    ['an HMAC algorithm', '{"clients":[{"iss":"x","jwksUrl":"https://x/jwks","algorithms":["HS256"]}]}'],
    ['fhirServers that is not a list', '{"clients":[{"iss":"x","jwksUrl":"https://x/jwks","fhirServers":"https://fhir.x"}]}'],
    ['a fhirServers entry with a query', '{"clients":[{"iss":"x","jwksUrl":"https://x/jwks","fhirServers":["https://fhir.x/r4?tenant=1"]}]}'],
  ])('refuses %s with a message naming the file', (name, text) => {
    const file = write(`${name.replace(/\W+/g, '-')}.json`, text);
    expect(() => loadTrustedClients(file)).toThrow(TrustedClientsError);
    expect(() => loadTrustedClients(file)).toThrow(file);
  });

  it('reads each client\'s FHIR server allow-list and matches fhirServer exactly, trailing slash aside', () => {
    const file = write('allow.json', '{"clients":[{"iss":"x","jwksUrl":"https://x/jwks","fhirServers":["https://FHIR.example.org/r4/"]},{"iss":"y","jwksUrl":"https://y/jwks"}]}');
    const [x, y] = loadTrustedClients(file);
    expect(x.fhirServers).toEqual(['https://fhir.example.org/r4']);
    expect(fhirServerAllowed(x, 'https://fhir.example.org/r4')).toBe(true);
    expect(fhirServerAllowed(x, 'https://fhir.example.org/r4/')).toBe(true);
    for (const other of ['https://fhir.example.org/r4/admin', 'https://fhir.example.org', 'http://fhir.example.org/r4', 'https://fhir.example.org.evil/r4', 'https://u:p@fhir.example.org/r4', 'not a url']) {
      expect(fhirServerAllowed(x, other)).toBe(false);
    }
    expect(fhirServerAllowed(y, 'https://fhir.example.org/r4')).toBe(false);
  });
});
