/**
 * A mistake on the command line. Kept apart from the library's
 * InvalidArgumentError so the help text is shown only for the CLI's own
 * mistakes, never for a value the driver refused.
 */
export class UsageError extends Error {
  /** The subcommand whose usage to show, if the mistake is in one. */
  readonly command: string | undefined;

  /**
   * @param message - What is wrong, in one line.
   * @param command - The subcommand whose usage applies.
   */
  constructor(message: string, command?: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}
