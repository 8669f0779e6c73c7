// Turns one chat.db message row (with its attachments and chat participants) into a relay event.
// Pure: no I/O except the file-existence check passed in. Fields are cut to model/event-limits.ts.
import { asRelayError } from '../errors.js';
import { appleToIso } from '../model/apple-time.js';
import { safeFileName } from '../model/files.js';
import { boundList, boundName, boundText } from '../model/event-limits.js';
import type {
  ChatRef, CommonFields, DecodeErrorInfo, EventAttachment, GroupAction, Mention, ReactionName, RelayEvent,
} from '../model/events.js';
import { decodeAttributedBody, visibleText, type DecodedBody } from '../typedstream/attributed-body.js';
import type { RawAttachmentRow, RawMessageRow } from './queries.js';

export interface MapContext {
  readonly attachments: readonly RawAttachmentRow[];
  readonly participants: readonly string[];
  readonly backlog: boolean;
  /** Expands `~` in attachment paths. */
  readonly homeDir: string;
  readonly fileExists: (path: string) => boolean;
}

const REACTIONS: readonly ReactionName[] = ['love', 'like', 'dislike', 'laugh', 'emphasis', 'question', 'emoji', 'sticker'];

/** A nullable SQLite integer as a number (NULL reads as 0, as chat.db's defaults do). */
export const num = (v: bigint | null): number => (v === null ? 0 : Number(v));

/** The decoded body of a row: the text to relay, and what the body says about attachments and mentions. */
export interface RowText {
  readonly text: string | null;
  readonly body: DecodedBody | null;
  readonly error: DecodeErrorInfo | null;
}

/** Decodes `attributedBody`, falling back to `text`; never throws. */
export function rowText(row: Pick<RawMessageRow, 'body' | 'text'>): RowText {
  const fallback = row.text !== null && row.text !== '' ? visibleText(row.text) : null;
  if (row.body === null || row.body.length === 0) return { text: fallback ?? (row.text === '' ? '' : null), body: null, error: null };
  try {
    const body = decodeAttributedBody(row.body);
    return { text: visibleText(body.text), body, error: null };
  } catch (err) {
    const e = asRelayError(err, 'TS_FAILED');
    const offset = typeof e.details['offset'] === 'number' ? e.details['offset'] : null;
    return { text: fallback, body: null, error: { code: e.code, message: e.message, offset } };
  }
}

function chatRef(row: RawMessageRow, participants: readonly string[]): ChatRef | null {
  if (row.chat_guid === null) return null;
  return {
    guid: row.chat_guid,
    id: row.chat_rowid === null ? null : Number(row.chat_rowid),
    identifier: row.chat_identifier,
    name: row.chat_name !== null && row.chat_name !== '' ? boundName(row.chat_name) : null,
    is_group: num(row.chat_style) === 43 || row.chat_guid.includes(';+;'),
    participants: boundList(participants),
  };
}

function expandHome(path: string | null, home: string): string | null {
  if (path === null || path === '') return null;
  if (path === '~') return home;
  if (path.startsWith('~/')) return home.replace(/\/$/, '') + path.slice(1);
  return path;
}

function attachments(ctx: MapContext, body: DecodedBody | null): EventAttachment[] {
  const list = ctx.attachments.map((a): EventAttachment => {
    const path = expandHome(a.filename, ctx.homeDir);
    return {
      guid: a.guid,
      name: a.name === null || a.name === '' ? null : safeFileName(a.name), // a base name, no bidi controls
      mime_type: a.mime_type,
      uti: a.uti,
      bytes: a.bytes === null ? null : Number(a.bytes),
      path,
      missing: path === null || !ctx.fileExists(path),
    };
  });
  if (body === null || body.attachments.length === 0) return list;
  const order = new Map<string, number>();
  body.attachments.forEach((ref, i) => { if (!order.has(ref.guid)) order.set(ref.guid, i); });
  return list
    .map((a, i) => ({ a, key: order.get(a.guid) ?? body.attachments.length + i }))
    .sort((x, y) => x.key - y.key)
    .map((x) => x.a);
}

function groupAction(itemType: number, actionType: number): GroupAction | null {
  if (itemType === 1) return actionType === 0 ? 'member_added' : actionType === 1 ? 'member_removed' : null;
  if (itemType === 2) return 'renamed';
  if (itemType === 3) return actionType === 0 ? 'member_left' : actionType === 1 || actionType === 2 ? 'photo_changed' : null;
  return null;
}

/** Parses `p:N/GUID` or `bp:GUID` into target guid and part. */
export function parseAssociatedGuid(value: string | null): { guid: string | null; part: number | null } {
  if (value === null || value === '') return { guid: null, part: null };
  const m = /^p:(\d+)\/(.+)$/.exec(value);
  if (m !== null) return { guid: m[2]!, part: Number(m[1]) };
  if (value.startsWith('bp:')) return { guid: value.slice(3), part: null };
  return { guid: value, part: null };
}

/** The fields every event of this row carries. */
export function commonFields(row: RawMessageRow, participants: readonly string[], backlog: boolean): CommonFields {
  return {
    rowid: Number(row.rowid),
    guid: row.guid,
    date: appleToIso(row.date),
    service: row.service,
    sender: num(row.is_from_me) === 1 ? null : row.handle,
    chat: chatRef(row, participants),
    backlog,
  };
}

/**
 * Maps a row to its event, or null for rows a relay does not forward (location sharing, SharePlay,
 * poll votes, kept audio notices).
 */
export function mapRow(row: RawMessageRow, ctx: MapContext): RelayEvent | null {
  const fromMe = num(row.is_from_me) === 1;
  const common = commonFields(row, ctx.participants, ctx.backlog);
  const itemType = num(row.item_type);
  if (itemType !== 0) {
    const action = groupAction(itemType, num(row.group_action_type));
    if (action === null) return null;
    const member = action === 'member_left' ? common.sender : action === 'member_added' || action === 'member_removed' ? row.other_handle : null;
    return { kind: 'group', ...common, action, name: action === 'renamed' ? boundName(row.group_title) : null, member };
  }
  const assocType = num(row.associated_message_type);
  if ((assocType >= 2000 && assocType <= 2007) || (assocType >= 3000 && assocType <= 3007) || assocType === 1000) {
    const target = parseAssociatedGuid(row.associated_message_guid);
    const reaction = assocType === 1000 ? 'sticker' : REACTIONS[assocType % 1000]!;
    return {
      kind: 'reaction', ...common, reaction,
      emoji: reaction === 'emoji' ? row.associated_message_emoji : null,
      removed: assocType >= 3000,
      target_guid: target.guid,
      target_part: target.part,
    };
  }
  if (assocType !== 0 && assocType !== 2 && assocType !== 3) return null; // poll votes and future kinds
  const t = rowText(row);
  const text = boundText(t.text);
  const allMentions = t.body === null ? [] : t.body.mentions;
  const mentions: Mention[] = boundList(allMentions).map((x) => ({ handle: x.handle, text: boundName(x.text) }));
  const allAttachments = attachments(ctx, t.body);
  const files = boundList(allAttachments);
  const message = {
    ...common,
    text: text.text,
    attachments: files,
    reply_to: row.thread_originator_guid !== null && row.thread_originator_guid !== '' ? row.thread_originator_guid : null,
    mentions,
    decode_error: t.error,
    truncated: text.truncated || files.length < allAttachments.length || mentions.length < allMentions.length,
  };
  if (!fromMe) return { kind: 'message', ...message };
  const error = num(row.error);
  return { kind: 'from_me', ...message, is_sent: num(row.is_sent) === 1, error: error === 0 ? null : error, command_id: null };
}
