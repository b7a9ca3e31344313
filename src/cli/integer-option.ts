import { CliError } from '../common/cli-error';

/** Every `--seed`: 0 .. 2^32 - 1, what numpy and torch seed from, so one seed means the same everywhere. */
export const SEED_RANGE = { min: 0, max: 2 ** 32 - 1 } as const;

/** Parse an integer option within min..max (decimal digits only); a bad value is one CliError line naming the flag. */
export function parseIntegerOption(flag: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const text = value.trim();
  if (!/^-?\d+$/.test(text)) throw new CliError(`${flag}: expected an integer, got '${value}'`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new CliError(`${flag}: must be between ${min} and ${max}, got ${text}`);
  return n;
}

/** A commander argument parser for `parseIntegerOption` (default: a positive integer). */
export function integerOption(flag: string, min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => parseIntegerOption(flag, value, min, max);
}

/** The commander argument parser of every `--seed`. */
export const seedOption = integerOption('--seed', SEED_RANGE.min, SEED_RANGE.max);
