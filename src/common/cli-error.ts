/**
 * An error a command-line user can act on: printed as one line (no stack) and exits non-zero.
 * Name the file (and line) or the option that is wrong in `message`.
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}
