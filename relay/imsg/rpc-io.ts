// Line framing of `rpc --json` (contract §3): one JSON-RPC 2.0 request per input line in, one JSON
// object per output line out. Turns a raw line into a request or the error it must be answered with.
import { INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, RpcError } from './rpc-error.js';

export type RpcId = number | string | null;

export interface RpcRequest {
  readonly kind: 'request';
  /** undefined: a notification (no id member): answered only if it fails, with id null. */
  readonly id: RpcId | undefined;
  readonly method: string;
  readonly params: Readonly<Record<string, unknown>>;
}

export interface RpcRefusal {
  readonly kind: 'refusal';
  readonly id: RpcId;
  readonly error: RpcError;
}

/** A request, the error a malformed line gets, or null for a blank line (ignored). */
export function parseLine(line: string): RpcRequest | RpcRefusal | null {
  const text = line.trim();
  if (text === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'refusal', id: null, error: new RpcError(PARSE_ERROR, 'the line is not valid JSON') };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'refusal', id: null, error: new RpcError(INVALID_REQUEST, 'a request must be a JSON object (batches are not supported)') };
  }
  const o = value as Record<string, unknown>;
  const rawId = o['id'];
  const readable = typeof rawId === 'number' || typeof rawId === 'string' || rawId === null;
  const id: RpcId = readable ? (rawId as RpcId) : null;
  if ('jsonrpc' in o && o['jsonrpc'] !== '2.0') return { kind: 'refusal', id, error: new RpcError(INVALID_REQUEST, 'jsonrpc must be "2.0"') };
  if (!readable && rawId !== undefined) return { kind: 'refusal', id: null, error: new RpcError(INVALID_REQUEST, 'id must be a number, a string or null') };
  const method = o['method'];
  if (typeof method !== 'string' || method === '') return { kind: 'refusal', id, error: new RpcError(INVALID_REQUEST, 'method is missing') };
  const params = o['params'] ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    return { kind: 'refusal', id, error: new RpcError(INVALID_PARAMS, 'params must be an object') };
  }
  return { kind: 'request', id: rawId === undefined ? undefined : id, method, params: params as Record<string, unknown> };
}

/** Splits a UTF-8 text stream into lines (LF), keeping the unfinished tail. */
export class LineSplitter {
  private tail = '';

  /** The complete lines in `chunk` (plus what was pending). */
  push(chunk: string): string[] {
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    return parts;
  }

  /** What is left at EOF (a last line without LF), if anything. */
  end(): string[] {
    const rest = this.tail;
    this.tail = '';
    return rest === '' ? [] : [rest];
  }
}
