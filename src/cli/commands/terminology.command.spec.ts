import { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { register } from './terminology.command';

describe('terminology lookup command', () => {
  const sut = async (args: string[]): Promise<{ out: string; error?: unknown }> => {
    const program = new Command('leader').exitOverride();
    register(program);
    const chunks: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      chunks.push(String(chunk));
      return true;
    });
    try {
      const error = await program.parseAsync(['node', 'leader', 'terminology', 'lookup', ...args]).then(() => undefined, (e: unknown) => e);
      return { out: chunks.join(''), error };
    } finally {
      write.mockRestore();
    }
  };

  it('prints the class and the rule that chose it for an RxNorm product the code map misclasses', async () => {
    const { out, error } = await sut(['--rxnorm', '198013', '--name', 'Naproxen 250 MG Oral Tablet']);
    expect(error).toBeUndefined();
    expect(out).toMatch(/^Naproxen 250 MG Oral Tablet \[oral\]: M01A antiinflammatory and antirheumatic products, non-steroids \(M01AE02\) by code-map-corrected: rxnorm map gave G02C/);
  });

  it('lets the route and the strength decide (aspirin 325 mg by mouth)', async () => {
    const { out } = await sut(['--name', 'Aspirin', '--route', 'PO', '--strength', '325mg Tab']);
    expect(out).toMatch(/: N02B .*\(N02BA01\) by substance/);
  });

  it('says "not assessed" by name for a drug nothing classes', async () => {
    const { out } = await sut(['--name', 'Unobtainium 5 MG Oral Tablet']);
    expect(out.trim()).toBe('Unobtainium 5 MG Oral Tablet [oral]: not assessed (no code or name maps to an ATC class)');
  });

  it('prints JSON with every class, its rule and reason', async () => {
    const { out } = await sut(['--name', 'Acetaminophen 325 MG / Oxycodone Hydrochloride 5 MG Oral Tablet', '--json']);
    expect(JSON.parse(out)).toMatchObject({ atc3: ['N02A'], rule: 'combination', route: 'oral', classes: [{ atc: 'N02AJ17', rule: 'combination' }] });
  });

  it.each([
    [[], 'terminology lookup: give --rxnorm, --ndc, --gsn, --atc or --name'],
    [['--ndc', ' '], 'terminology lookup: an empty code was given'],
    [['--name', 'Aspirin', '--mappings', '/nonexistent'], '--mappings /nonexistent:'],
  ])('rejects %p with a one-line CliError', async (args, message) => {
    const { error } = await sut(args);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toContain(message);
  });
});
