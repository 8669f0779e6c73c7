// Reads `message_summary_info` (a binary plist, chatdb.md §4.10): which parts were edited or unsent,
// and the newest text of each edited part. Parsing is bplist-parser's; we only interpret.
import { parseBuffer } from 'bplist-parser';
import { RelayError, asRelayError } from '../errors.js';
import { appleSecondsToIso } from '../model/apple-time.js';
import { decodeAttributedBody, visibleText } from '../typedstream/attributed-body.js';

export interface EditHistory {
  /** Part indexes that were edited (`ep`). */
  readonly editedParts: readonly number[];
  /** Part indexes that were unsent (`rp`). */
  readonly unsentParts: readonly number[];
  /** Number of edit versions over all parts (`ec`), original included: grows with every edit. */
  readonly versions: number;
  /** ISO time of the newest edit, or null. */
  readonly lastEditedAt: string | null;
  /** The newest text of each edited part, in part order (U+FFFC removed); null when undecodable. */
  readonly latestTexts: ReadonlyArray<string | null>;
}

const EMPTY: EditHistory = { editedParts: [], unsentParts: [], versions: 0, lastEditedAt: null, latestTexts: [] };

function ints(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x)) : [];
}

/**
 * Parses a message_summary_info blob. NULL or empty gives "no edits".
 * @throws RelayError SUMMARY_BAD_PLIST when the blob is not a binary plist dictionary.
 */
export function parseEditHistory(blob: Buffer | null): EditHistory {
  if (blob === null || blob.length === 0) return EMPTY;
  let root: unknown;
  try {
    [root] = parseBuffer(blob);
  } catch (err) {
    throw new RelayError('SUMMARY_BAD_PLIST', `message_summary_info is not a binary plist: ${asRelayError(err).message}`, {}, { cause: err });
  }
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new RelayError('SUMMARY_BAD_PLIST', 'message_summary_info is not a dictionary');
  }
  const dict = root as Record<string, unknown>;
  const ec = dict['ec'] !== null && typeof dict['ec'] === 'object' ? (dict['ec'] as Record<string, unknown>) : {};
  let versions = 0;
  let lastSeconds: number | null = null;
  const latest: Array<[number, string | null]> = [];
  for (const [part, list] of Object.entries(ec)) {
    if (!Array.isArray(list) || list.length === 0) continue;
    versions += list.length;
    const newest = list[list.length - 1] as { d?: unknown; t?: unknown };
    if (typeof newest.d === 'number' && (lastSeconds === null || newest.d > lastSeconds)) lastSeconds = newest.d;
    let text: string | null = null;
    if (Buffer.isBuffer(newest.t)) {
      try {
        text = visibleText(decodeAttributedBody(newest.t).text);
      } catch {
        text = null;
      }
    }
    latest.push([Number(part), text]);
  }
  latest.sort((a, b) => a[0] - b[0]);
  return {
    editedParts: ints(dict['ep']),
    unsentParts: ints(dict['rp']),
    versions,
    lastEditedAt: appleSecondsToIso(lastSeconds),
    latestTexts: latest.map(([, t]) => t),
  };
}
