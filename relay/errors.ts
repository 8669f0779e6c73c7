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

/** A failed `listen()` as a RelayError: ADDRESS_IN_USE, ADDRESS_NOT_AVAILABLE, PERMISSION_DENIED, or LISTEN_FAILED. */
export function listenError(err: unknown, what: string, host: string, port: number): RelayError {
  const sys = (err as NodeJS.ErrnoException | null)?.code;
  const where = `${host}:${port}`;
  const details = { what, address: where };
  if (sys === 'EADDRINUSE') return new RelayError('ADDRESS_IN_USE', `${what}: ${where} is already in use by another process`, details, { cause: err });
  if (sys === 'EADDRNOTAVAIL') return new RelayError('ADDRESS_NOT_AVAILABLE', `${what}: ${host} is not an address of this machine (is the tunnel up?)`, details, { cause: err });
  if (sys === 'EACCES') return new RelayError('PERMISSION_DENIED', `${what}: not allowed to listen on ${where} (ports below 1024 need privileges)`, details, { cause: err });
  return new RelayError('LISTEN_FAILED', `${what}: cannot listen on ${where}: ${(err as Error).message}`, details, { cause: err });
}

/** Codes of the hub's waiting sends, chat routes and link queries (issue 9; README "Error codes", PROTOCOL.md §4.3). */
export const AssistantCode = {
  RelayOffline: 'RELAY_OFFLINE',
  UnknownChat: 'UNKNOWN_CHAT',
  SendFailed: 'SEND_FAILED',
  SendUnconfirmed: 'SEND_UNCONFIRMED',
  SendNotStarted: 'SEND_NOT_STARTED',
  QueryTimeout: 'QUERY_TIMEOUT',
  QueryFailed: 'QUERY_FAILED',
  QueryUnsupported: 'QUERY_UNSUPPORTED',
  UnknownQuery: 'UNKNOWN_QUERY',
  BadQuery: 'BAD_QUERY',
  AnswerTooLarge: 'ANSWER_TOO_LARGE',
} as const;
