// The chat-completions messages for one reply: the system prompt, then the conversation (in a group,
// each user message starts with who sent it), with the images of the messages not yet answered as
// image inputs (data URLs) when vision is on.
import type { HistoryEntry } from './history.js';
import type { ChatMessage } from './model-client.js';

/** An image's bytes as the hub holds them. */
export interface ImageData {
  readonly mime_type: string;
  readonly bytes: Buffer;
}

/** Entries after the last reply sent from the account: the messages this reply answers. */
export function unanswered(history: readonly HistoryEntry[]): HistoryEntry[] {
  let i = history.length;
  while (i > 0 && history[i - 1]!.role === 'user') i--;
  return history.slice(i);
}

/** The request's messages: system prompt, then the conversation; images (by attachment guid) as image parts of their message. */
export function buildMessages(systemPrompt: string, history: readonly HistoryEntry[], isGroup: boolean,
  images: ReadonlyMap<string, ImageData>): ChatMessage[] {
  const out: ChatMessage[] = [{ role: 'system', content: systemPrompt }];
  for (const e of history) {
    if (e.role === 'assistant') { out.push({ role: 'assistant', content: e.text }); continue; }
    const text = isGroup && e.sender !== null ? `${e.sender}: ${e.text}` : e.text;
    const pics = e.images.flatMap((i) => {
      const data = images.get(i.guid);
      return data === undefined ? [] : [{ type: 'image_url' as const, image_url: { url: `data:${data.mime_type};base64,${data.bytes.toString('base64')}` } }];
    });
    if (pics.length === 0) out.push({ role: 'user', content: text === '' ? '(an attachment)' : text });
    else out.push({ role: 'user', content: [...(text.trim() === '' ? [] : [{ type: 'text' as const, text }]), ...pics] });
  }
  return out;
}
