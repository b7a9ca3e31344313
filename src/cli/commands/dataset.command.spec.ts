import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from '../../common/cli-error';
import { register } from './dataset.command';

describe('dataset command', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'leader-dataset-cmd-'));
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  const sut = async (args: string[]) => {
    const program = new Command('leader').exitOverride();
    register(program);
    return program.parseAsync(['node', 'leader', 'dataset', '--quiet', ...args]).then(() => undefined, (e: unknown) => e);
  };

  it.each([
    [['--prompt-mode', 'loose'], /--prompt-mode: expected fixed or faithful, got 'loose'/],
    [['--split', 'random'], /--split: expected shuffle or sequential/],
    [['--top-meds', '0'], /--top-meds: must be between 1/],
    [['--max-visits', 'ten'], /--max-visits: expected an integer, got 'ten'/],
    [['--seed', '1.5'], /--seed: expected an integer/],
  ])('rejects %p with a one-line CliError', async (args, message) => {
    const error = await sut(['--fhir', tmp, '--out', path.join(tmp, 'out'), ...args]);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toMatch(message);
  });

  it('names a source that holds no FHIR data and writes nothing', async () => {
    const empty = path.join(tmp, 'empty');
    await fs.mkdir(empty);
    const out = path.join(tmp, 'never');
    const error = await sut(['--fhir', empty, '--out', out]);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toContain(empty);
    await expect(fs.stat(out)).rejects.toThrow(/ENOENT/);
  });

  it('refuses a source whose patients give no sample, leaving no output folder', async () => {
    const src = path.join(tmp, 'ndjson');
    await fs.mkdir(src);
    await fs.writeFile(path.join(src, 'Patient.ndjson'), `${JSON.stringify({ resourceType: 'Patient', id: 'p1', gender: 'female' })}\n`);
    const out = path.join(tmp, 'none');
    const error = await sut(['--fhir', src, '--out', out]);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toMatch(/no sample could be built from 1 patients .*no-visit-with-codes 1/);
    await expect(fs.stat(out)).rejects.toThrow(/ENOENT/);
  });
});
