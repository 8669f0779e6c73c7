// Who the assistant answers: incoming messages only (never `from_me` rows, never `backlog`), in a
// group only when addressed (a mention of the account or its name), and, when an allowlist is set,
// only its handles and chats (others get the configured notice once, or nothing). Pure.
import { normaliseHandle, type AssistantConfig } from '../config/assistant-config.js';

/** What to do with an event: answer it, send the not-allowed notice, or leave it (and why). */
export type Decision =
  | { readonly action: 'answer' }
  | { readonly action: 'not_allowed' }
  | { readonly action: 'ignore'; readonly reason: 'not_a_message' | 'backlog' | 'no_chat' | 'not_addressed' | 'empty' };

type Policy = Pick<AssistantConfig, 'allow' | 'name' | 'handles'>;

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** True when the message names the assistant (a whole word, `@` allowed) or mentions one of its handles. */
export function addressed(e: Record<string, unknown>, p: Policy): boolean {
  const name = new RegExp(`(^|[^\\p{L}\\p{N}_])@?${escape(p.name)}($|[^\\p{L}\\p{N}_])`, 'iu');
  const mentions = Array.isArray(e['mentions']) ? (e['mentions'] as Array<{ handle?: unknown; text?: unknown }>) : [];
  if (mentions.some((m) => (typeof m.handle === 'string' && p.handles.includes(normaliseHandle(m.handle))) || (typeof m.text === 'string' && name.test(m.text)))) return true;
  return typeof e['text'] === 'string' && name.test(e['text']);
}

/** What to do with one stored event. */
export function decide(e: Record<string, unknown>, p: Policy): Decision {
  if (e['kind'] !== 'message') return { action: 'ignore', reason: 'not_a_message' };
  if (e['backlog'] === true) return { action: 'ignore', reason: 'backlog' };
  const chat = e['chat'] as { guid?: unknown; identifier?: unknown; is_group?: unknown } | null | undefined;
  if (chat === null || chat === undefined || typeof chat.guid !== 'string') return { action: 'ignore', reason: 'no_chat' };
  const text = typeof e['text'] === 'string' ? e['text'].trim() : '';
  const files = Array.isArray(e['attachments']) ? e['attachments'].length : 0;
  if (text === '' && files === 0) return { action: 'ignore', reason: 'empty' };
  if (chat.is_group === true && !addressed(e, p)) return { action: 'ignore', reason: 'not_addressed' };
  if (p.allow.length > 0) {
    const sender = typeof e['sender'] === 'string' ? normaliseHandle(e['sender']) : null;
    const ok = p.allow.includes(chat.guid) || (typeof chat.identifier === 'string' && p.allow.includes(normaliseHandle(chat.identifier)))
      || (sender !== null && p.allow.includes(sender));
    if (!ok) return { action: 'not_allowed' };
  }
  return { action: 'answer' };
}
