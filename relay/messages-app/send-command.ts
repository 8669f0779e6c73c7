// A send command as the hub words it (README "Assistant API"): checked before anything is sent.
import { isSha256Hex, isUuid, type FileRef } from '../model/files.js';

export type Target = { readonly chatGuid: string } | { readonly handle: string; readonly service: string };

/** What one command sends: a text, or a file. */
export type Payload = { readonly text: string; readonly file: null } | { readonly text: null; readonly file: FileRef };

/** The handle and service of a 1:1 chat guid (`iMessage;-;+1555…`, `any;-;…` → iMessage), else null. */
export function dmOf(chatGuid: string): { handle: string; service: string } | null {
  const m = /^([^;]+);-;(.+)$/.exec(chatGuid);
  return m === null ? null : { handle: m[2]!, service: m[1] === 'any' ? 'iMessage' : m[1]! };
}

function fileRef(v: unknown): FileRef | null {
  if (v === null || typeof v !== 'object') return null;
  const f = v as Record<string, unknown>;
  return isUuid(f['id']) && typeof f['name'] === 'string' && typeof f['bytes'] === 'number' && Number.isSafeInteger(f['bytes']) && isSha256Hex(f['sha256'])
    ? { id: f['id'], name: f['name'], bytes: f['bytes'], sha256: f['sha256'], mime_type: typeof f['mime_type'] === 'string' ? f['mime_type'] : null, chunks: Number(f['chunks'] ?? 0) }
    : null;
}

/**
 * The text a row's event shows for a text we sent: NFC, U+FFFC (object replacement) removed, as
 * chat.db's decoded body gives it (the event of a row never carries U+FFFC).
 */
export function visibleSendText(text: string | null): string {
  return (text ?? '').normalize('NFC').split('\uFFFC').join('');
}

export function parseSend(body: Record<string, unknown>): (Payload & { target: Target }) | string {
  const text = body['text'];
  const file = body['file'] === undefined || body['file'] === null ? null : fileRef(body['file']);
  if (body['kind'] !== 'send') return 'not a send command';
  if (body['file'] !== undefined && body['file'] !== null && file === null) return 'a file without id, name, bytes and sha256';
  let payload: Payload;
  if (file !== null) payload = { text: null, file };
  else if (typeof text === 'string' && text !== '') payload = { text, file: null };
  else return 'a send command with neither text nor file';
  if (typeof body['chat_guid'] === 'string') return { ...payload, target: { chatGuid: body['chat_guid'] } };
  if (typeof body['handle'] === 'string') return { ...payload, target: { handle: body['handle'], service: typeof body['service'] === 'string' && body['service'] !== 'any' ? body['service'] : 'iMessage' } };
  return 'no chat_guid or handle';
}

