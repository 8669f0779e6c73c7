// The Mac's answers to the hub's link queries (PROTOCOL.md §4.3): `chats` and `history`, read from
// chat.db by chatdb/history.ts. Parameters are checked here; an answer too large for one link item is
// cut to the newest messages that fit and marked `partial`.
import { AssistantCode, RelayError } from '../errors.js';
import type { ChatHistory } from '../chatdb/history.js';
import { bytesOver } from '../model/wire.js';

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const bad = (why: string): never => { throw new RelayError(AssistantCode.BadQuery, why); };

function optMs(v: unknown, name: string): number | null {
  if (v === undefined || v === null) return null;
  return isInt(v) ? v : bad(`${name} must be Unix milliseconds`);
}

/**
 * A query handler for the link session: `chats {limit?, id?, key?}` → `{chats}`; `history {chat_id,
 * limit?, start?, end?, participants?, attachments?}` → `{messages, partial}`.
 * @throws RelayError UNKNOWN_QUERY, BAD_QUERY, UNKNOWN_CHAT, or the chat.db reader's CHATDB_* codes.
 */
export function macQueryHandler(history: ChatHistory, maxItemBytes: number): (q: string, params: Record<string, unknown>) => Promise<Record<string, unknown>> {
  const answer = (q: string, p: Record<string, unknown>): Record<string, unknown> => {
    if (q === 'chats') {
      if (p['id'] !== undefined) {
        if (!isInt(p['id'])) bad('id must be an integer');
        const chat = history.chat({ id: p['id'] as number });
        return { chats: chat === null ? [] : [chat] };
      }
      if (p['key'] !== undefined) {
        if (typeof p['key'] !== 'string' || p['key'] === '') bad('key must be a chat guid or identifier');
        const chat = history.chat({ key: p['key'] as string });
        return { chats: chat === null ? [] : [chat] };
      }
      const limit = p['limit'] ?? 20;
      if (!isInt(limit)) bad('limit must be an integer');
      return { chats: history.chats(limit as number) };
    }
    if (q === 'history') {
      const chatId = p['chat_id'];
      if (!isInt(chatId)) return bad('chat_id must be an integer');
      const limit = p['limit'] ?? 50;
      if (!isInt(limit)) bad('limit must be an integer');
      const participants = p['participants'] ?? null;
      if (participants !== null && (!Array.isArray(participants) || !participants.every((x) => typeof x === 'string'))) bad('participants must be a list of handles');
      const r = history.history({
        chatId, limit: limit as number, start: optMs(p['start'], 'start'), end: optMs(p['end'], 'end'),
        participants: participants as string[] | null, attachments: p['attachments'] === true,
      });
      let messages = r.messages;
      let partial = r.partial;
      // Newest first: what is cut are the oldest messages, so a shorter answer is still a true page.
      while (messages.length > 0 && bytesOver(JSON.stringify({ messages, partial: true }), Math.floor(maxItemBytes * 0.9)) !== null) {
        messages = messages.slice(0, Math.floor(messages.length / 2));
        partial = true;
      }
      return { messages, partial };
    }
    return bad(`unknown query ${JSON.stringify(q.slice(0, 40))}`) as never;
  };
  return async (q, params) => {
    if (q !== 'chats' && q !== 'history') throw new RelayError(AssistantCode.UnknownQuery, `this relay does not know the query ${JSON.stringify(q.slice(0, 40))}`);
    return answer(q, params);
  };
}
