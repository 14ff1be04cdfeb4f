/**
 * ConfigError: the user asked for something tsemu cannot do. It reaches the user as
 * one line on stderr (no stack trace) and a non-zero exit status.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
