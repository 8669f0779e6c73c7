// Decodes a message's `attributedBody` into its text and the parts of it a relay cares about:
// message parts, the attachment behind each U+FFFC, mentions and links (chatdb.md §4.7–4.8).
import { TypedstreamCode, typedstreamError } from './errors.js';
import { FoundationReader, type AttributeRun, type FoundationValue } from './foundation.js';
import { isObject, readTypedstream } from './stream.js';
import { UTF16LE_BOM_0, UTF16LE_BOM_1 } from './tags.js';

/** U+FFFC OBJECT REPLACEMENT CHARACTER: marks where an attachment or balloon sits. */
export const OBJECT_REPLACEMENT = '\uFFFC';

export const ATTR_PART = '__kIMMessagePartAttributeName';
export const ATTR_FILE_TRANSFER = '__kIMFileTransferGUIDAttributeName';
export const ATTR_MENTION = '__kIMMentionConfirmedMention';
export const ATTR_LINK = '__kIMLinkAttributeName';

export interface BodyMention {
  readonly handle: string;
  /** The mentioned text as it reads in the message (e.g. "Dad"). */
  readonly text: string;
  /** UTF-16 offset in the full text (U+FFFC included). */
  readonly start: number;
  readonly length: number;
}

export interface BodyAttachmentRef {
  readonly guid: string;
  /** UTF-16 offset of its U+FFFC in the full text. */
  readonly position: number;
  readonly part: number | null;
}

export interface BodyPart {
  readonly index: number;
  readonly start: number;
  readonly length: number;
  readonly text: string;
}

export interface DecodedBody {
  /** The full text as archived, U+FFFC included. */
  readonly text: string;
  readonly runs: readonly AttributeRun[];
  readonly parts: readonly BodyPart[];
  readonly attachments: readonly BodyAttachmentRef[];
  readonly mentions: readonly BodyMention[];
  readonly links: readonly string[];
}

/**
 * Decodes an attributedBody blob.
 * @throws RelayError with a TS_* code and `details.offset` when the blob is not a well-formed
 * NSAttributedString typedstream (never any other exception, never a partial result).
 */
export function decodeAttributedBody(blob: Buffer): DecodedBody {
  if (blob.length >= 2 && blob[0] === UTF16LE_BOM_0 && blob[1] === UTF16LE_BOM_1) {
    if (blob.length % 2 !== 0) throw typedstreamError(TypedstreamCode.Truncated, 'odd-length UTF-16LE body', blob.length - 1);
    const text = blob.subarray(2).toString('utf16le');
    return describe(text, text.length === 0 ? [] : [{ start: 0, length: text.length, attributes: {} }]);
  }
  const groups = readTypedstream(blob);
  const root = groups[0]!;
  const rootObj = root.values[0];
  if (root.types !== '@' || !isObject(rootObj)) {
    throw typedstreamError(TypedstreamCode.BadStructure, 'the first group is not an object', root.at);
  }
  const { text, runs } = new FoundationReader().attributedString(rootObj);
  return describe(text, runs);
}

/** Only the text, U+FFFC removed: what a message event carries. */
export function visibleText(text: string): string {
  return text.includes(OBJECT_REPLACEMENT) ? text.split(OBJECT_REPLACEMENT).join('') : text;
}

function asString(v: FoundationValue | undefined): string | null {
  return typeof v === 'string' ? v : null;
}

function asInt(v: FoundationValue | undefined): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null;
}

function describe(text: string, runs: readonly AttributeRun[]): DecodedBody {
  const parts: BodyPart[] = [];
  const attachments: BodyAttachmentRef[] = [];
  const mentions: BodyMention[] = [];
  const links: string[] = [];
  for (const run of runs) {
    const a = run.attributes;
    const part = asInt(a[ATTR_PART]);
    if (part !== null) {
      const last = parts[parts.length - 1];
      if (last !== undefined && last.index === part && last.start + last.length === run.start) {
        parts[parts.length - 1] = { ...last, length: last.length + run.length, text: text.slice(last.start, run.start + run.length) };
      } else {
        parts.push({ index: part, start: run.start, length: run.length, text: text.slice(run.start, run.start + run.length) });
      }
    }
    const transfer = asString(a[ATTR_FILE_TRANSFER]);
    if (transfer !== null) {
      for (let i = run.start; i < run.start + run.length; i++) {
        if (text.charCodeAt(i) === 0xfffc) attachments.push({ guid: transfer, position: i, part });
      }
    }
    const mention = asString(a[ATTR_MENTION]);
    if (mention !== null) {
      mentions.push({ handle: mention, text: text.slice(run.start, run.start + run.length), start: run.start, length: run.length });
    }
    const link = a[ATTR_LINK];
    if (link !== null && typeof link === 'object' && 'url' in link && typeof link.url === 'string' && !links.includes(link.url)) {
      links.push(link.url);
    }
  }
  return { text, runs, parts, attachments, mentions, links };
}
