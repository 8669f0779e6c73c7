// Error codes of the typedstream decoder. Every error carries the byte offset where it was found.
import { RelayError } from '../errors.js';

/** Stable codes; see README "Error codes". */
export const TypedstreamCode = {
  BadHeader: 'TS_BAD_HEADER',
  Truncated: 'TS_TRUNCATED',
  BadTag: 'TS_BAD_TAG',
  BadReference: 'TS_BAD_REFERENCE',
  BadType: 'TS_BAD_TYPE',
  TooDeep: 'TS_TOO_DEEP',
  BadUtf8: 'TS_BAD_UTF8',
  BadStructure: 'TS_BAD_STRUCTURE',
  BadRuns: 'TS_BAD_RUNS',
} as const;
export type TypedstreamCode = (typeof TypedstreamCode)[keyof typeof TypedstreamCode];

/** Thrown for any malformed typedstream; `details.offset` is the byte offset into the blob. */
export function typedstreamError(code: TypedstreamCode, message: string, offset: number): RelayError {
  return new RelayError(code, `${message} at byte ${offset}`, { offset });
}
