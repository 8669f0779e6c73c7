// The one error type of the project: every failure a caller may handle carries a stable `code`.
// Codes are part of the public surface (logs, health, CLI output) and are listed in README.md.

/** Structured details attached to an error (offsets, paths, hints). Never message text. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

/**
 * An error with a stable machine-readable code.
 * `code` never changes once published; `message` is for humans and may be reworded.
 */
export class RelayError extends Error {
  readonly code: string;
  readonly details: ErrorDetails;

  constructor(code: string, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RelayError';
    this.code = code;
    this.details = details;
  }

  /** A plain object for logs and JSON output. */
  toJSON(): { code: string; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `err` is a RelayError with the given code. */
export function hasCode(err: unknown, code: string): boolean {
  return err instanceof RelayError && err.code === code;
}

/** Turns anything thrown into a RelayError, keeping the original as `cause`. */
export function asRelayError(err: unknown, fallbackCode = 'INTERNAL'): RelayError {
  if (err instanceof RelayError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RelayError(fallbackCode, message, {}, { cause: err });
}
