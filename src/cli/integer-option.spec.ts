import { CliError } from '../common/cli-error';
import { integerOption, parseIntegerOption, seedOption } from './integer-option';

describe(parseIntegerOption.name, () => {
  it('takes decimal integers within the range', () => {
    expect(parseIntegerOption('--n', ' 7 ')).toBe(7);
    expect(parseIntegerOption('--n', '-3', -5, 5)).toBe(-3);
  });

  it.each([
    ['1.5', /--n: expected an integer, got '1.5'/], ['ten', /expected an integer/], ['', /expected an integer/], ['1e3', /expected an integer/],
    ['0', /--n: must be between 1 and 9007199254740991, got 0/], ['99999999999999999999', /must be between/],
  ])('refuses %p in one line', (value, message) => {
    expect(() => parseIntegerOption('--n', value)).toThrow(CliError);
    expect(() => parseIntegerOption('--n', value)).toThrow(message);
  });

  it('has one rule for --seed everywhere: 0 .. 2^32-1', () => {
    expect(seedOption('0')).toBe(0);
    expect(seedOption(String(2 ** 32 - 1))).toBe(2 ** 32 - 1);
    expect(() => seedOption('-1')).toThrow('--seed: must be between 0 and 4294967295, got -1');
    expect(() => seedOption(String(2 ** 32))).toThrow(/--seed: must be between/);
    expect(integerOption('--top', 0)('0')).toBe(0);
  });
});
