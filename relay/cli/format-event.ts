// One readable line per event for `scan` and `demo` (NDJSON is the other format).
import type { RelayEvent } from '../model/events.js';

const clip = (s: string | null, n = 80): string => {
  if (s === null) return '∅';
  const one = s.replace(/\s+/g, ' ');
  return JSON.stringify(one.length > n ? `${one.slice(0, n - 1)}…` : one);
};

/** `#123 2026-11-26T12:00:00.000Z message  iMessage;-;+1555… from +1555…: "hi"` */
export function formatEvent(e: RelayEvent): string {
  const who = e.sender === null ? 'me' : e.sender;
  const head = `#${e.rowid} ${e.date ?? '(no date)'} ${e.kind.padEnd(8)} ${e.chat?.guid ?? '(no chat)'}${e.backlog ? ' [backlog]' : ''}`;
  switch (e.kind) {
    case 'message':
    case 'from_me': {
      const extra = [
        e.attachments.length > 0 ? `${e.attachments.length} attachment(s)` : '',
        e.reply_to !== null ? `reply to ${e.reply_to}` : '',
        e.decode_error !== null ? `decode error ${e.decode_error.code}` : '',
        e.kind === 'from_me' ? (e.error !== null ? `error ${e.error}` : e.is_sent ? 'sent' : 'not yet sent') : '',
      ].filter((x) => x !== '');
      return `${head} from ${who}: ${clip(e.text)}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`;
    }
    case 'reaction':
      return `${head} ${who} ${e.removed ? 'removed' : 'added'} ${e.reaction}${e.emoji !== null ? ` ${e.emoji}` : ''} on ${e.target_guid ?? '?'}`;
    case 'edit':
      return `${head} ${who} edited ${e.guid}: ${clip(e.text)}`;
    case 'unsend':
      return `${head} ${who} unsent ${e.guid}`;
    case 'group':
      return `${head} ${who} ${e.action}${e.name !== null ? ` → ${clip(e.name)}` : ''}${e.member !== null ? ` ${e.member}` : ''}`;
    case 'delivery':
      return `${head} ${e.guid} ${e.status}${e.error !== null ? ` (error ${e.error})` : ''}`;
  }
}
