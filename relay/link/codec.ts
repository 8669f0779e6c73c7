// The messages that travel inside sealed frames (PROTOCOL.md §4), as JSON, with validation:
// a peer that sends anything else is closed, never trusted.
import { RelayError } from '../errors.js';
import type { CommandItem, ItemRefusal, OutboxItem, OutboxItemType } from '../model/wire.js';

export type { CommandItem, ItemRefusal, OutboxItem } from '../model/wire.js';

/** A query's failure as the relay answers it (PROTOCOL.md §4.3). */
export interface AnswerError {
  readonly code: string;
  readonly message: string;
}

export type LinkMessage =
  /** `caps`: optional features the relay understands (e.g. `query`); absent from older relays. */
  | { readonly t: 'hello'; readonly v: number; readonly agent: string; readonly store: string; readonly cmd_acked: number; readonly caps?: readonly string[] }
  | { readonly t: 'welcome'; readonly v: number; readonly acked: number; readonly account: string }
  | { readonly t: 'items'; readonly items: readonly OutboxItem[] }
  /** `refused`: items ≤ seq the hub did not store, each with why (PROTOCOL.md §4.2); absent when none. */
  | { readonly t: 'ack'; readonly seq: number; readonly refused?: readonly ItemRefusal[] }
  | { readonly t: 'commands'; readonly items: readonly CommandItem[] }
  | { readonly t: 'cmd_ack'; readonly seq: number }
  | { readonly t: 'ping'; readonly n: number }
  | { readonly t: 'pong'; readonly n: number }
  | { readonly t: 'bye'; readonly reason: string }
  /** A read-only request from the hub, answered once by the relay (PROTOCOL.md §4.3); not durable. */
  | { readonly t: 'query'; readonly id: number; readonly q: string; readonly params: Record<string, unknown> }
  | { readonly t: 'answer'; readonly id: number; readonly result?: Record<string, unknown>; readonly error?: AnswerError };

const bad = (why: string): never => {
  throw new RelayError('LINK_BAD_MESSAGE', `malformed link message: ${why}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const ITEM_TYPES: ReadonlySet<string> = new Set<OutboxItemType>(['event', 'result', 'chunk', 'file']);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage(m: LinkMessage): Uint8Array {
  return encoder.encode(JSON.stringify(m));
}

/**
 * Encodes an `items` message whose bodies are already JSON text (as the outbox stores them, written
 * by JSON.stringify): spliced in, not parsed and written again. Same bytes as encodeMessage would give.
 */
export function encodeItems(items: ReadonlyArray<{ seq: number; type: OutboxItemType; id: string; body: string }>): Uint8Array {
  const parts = items.map((i) => `{"seq":${i.seq},"type":"${i.type}","id":${JSON.stringify(i.id)},"body":${i.body}}`);
  return encoder.encode(`{"t":"items","items":[${parts.join(',')}]}`);
}

/**
 * Parses and checks a message.
 * @throws RelayError LINK_BAD_MESSAGE for anything that is not one of the messages above.
 */
export function decodeMessage(bytes: Uint8Array): LinkMessage {
  let m: unknown;
  try {
    m = JSON.parse(decoder.decode(bytes));
  } catch {
    return bad('not UTF-8 JSON');
  }
  if (!isObj(m) || typeof m['t'] !== 'string') return bad('no type');
  switch (m['t']) {
    case 'hello':
      if (!isSeq(m['v']) || typeof m['agent'] !== 'string' || typeof m['store'] !== 'string' || !isSeq(m['cmd_acked'])) bad('hello fields');
      if (m['caps'] !== undefined && (!Array.isArray(m['caps']) || m['caps'].length > 64 || !m['caps'].every((c) => typeof c === 'string' && c.length <= 64))) bad('hello caps');
      break;
    case 'welcome':
      if (!isSeq(m['v']) || !isSeq(m['acked']) || typeof m['account'] !== 'string') bad('welcome fields');
      break;
    case 'items':
      if (!Array.isArray(m['items'])) bad('items is not an array');
      for (const it of m['items'] as unknown[]) {
        if (!isObj(it) || !isSeq(it['seq']) || !ITEM_TYPES.has(it['type'] as string) || typeof it['id'] !== 'string' || !isObj(it['body'])) bad('outbox item');
      }
      break;
    case 'commands':
      if (!Array.isArray(m['items'])) bad('items is not an array');
      for (const it of m['items'] as unknown[]) {
        if (!isObj(it) || !isSeq(it['seq']) || typeof it['id'] !== 'string' || !isObj(it['body'])) bad('command item');
      }
      break;
    case 'ack':
      if (!isSeq(m['seq'])) bad('ack seq');
      if (m['refused'] !== undefined) {
        if (!Array.isArray(m['refused'])) bad('ack refused is not an array');
        for (const r of m['refused'] as unknown[]) {
          if (!isObj(r) || !isSeq(r['seq']) || r['seq'] > (m['seq'] as number) || typeof r['code'] !== 'string' || typeof r['message'] !== 'string') bad('ack refusal');
        }
      }
      break;
    case 'cmd_ack':
      if (!isSeq(m['seq'])) bad('cmd_ack seq');
      break;
    case 'ping': case 'pong':
      if (!isSeq(m['n'])) bad(`${m['t']} n`);
      break;
    case 'bye':
      if (typeof m['reason'] !== 'string') bad('bye reason');
      break;
    case 'query':
      if (!isSeq(m['id']) || typeof m['q'] !== 'string' || !isObj(m['params'])) bad('query fields');
      break;
    case 'answer': {
      const err = m['error'];
      if (!isSeq(m['id'])) bad('answer id');
      if ((m['result'] === undefined) === (err === undefined)) bad('answer needs exactly one of result and error');
      if (m['result'] !== undefined && !isObj(m['result'])) bad('answer result');
      if (err !== undefined && (!isObj(err) || typeof err['code'] !== 'string' || typeof err['message'] !== 'string')) bad('answer error');
      break;
    }
    default:
      bad(`unknown type ${JSON.stringify(m['t'])}`);
  }
  return m as unknown as LinkMessage;
}
