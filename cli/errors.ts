/** An error the CLI reports as one line on stderr with its exit code (2: bad arguments or refused request). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
