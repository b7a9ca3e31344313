import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadTrustedClients, TrustedClientsError } from './trusted-clients';

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
  ])('refuses %s with a message naming the file', (name, text) => {
    const file = write(`${name.replace(/\W+/g, '-')}.json`, text);
    expect(() => loadTrustedClients(file)).toThrow(TrustedClientsError);
    expect(() => loadTrustedClients(file)).toThrow(file);
  });
});
