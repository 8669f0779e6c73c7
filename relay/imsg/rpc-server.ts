// `rpc --json` (contract §3): reads requests line by line, answers each (in any order, each with its
// own id), writes notifications, and ends the way OpenClaw expects: exit 0 within 500 ms of stdin
// EOF with every line whole, at once on SIGTERM, non-zero after a fatal watch failure.
import type { RelayError } from '../errors.js';
import { ChatCache } from './chat-cache.js';
import { chatsList, messagesHistory, type ChatsDeps } from './chats.js';
import type { ImsgConfig } from './config.js';
import { HubClient } from './hub-client.js';
import { internal, METHOD_NOT_FOUND, RpcError } from './rpc-error.js';
import { LineSplitter, parseLine, type RpcId } from './rpc-io.js';
import { send } from './send.js';
import { Watches } from './watch.js';

type Json = Record<string, unknown>;

export interface RpcServerDeps {
  readonly input: NodeJS.ReadableStream;
  /** Writes one whole line to stdout (synchronous on a pipe). */
  readonly writeLine: (line: string) => void;
  readonly stderr: (line: string) => void;
  readonly exit: (code: number) => never;
  /** The config, or why it could not be read (every request then fails with that reason). */
  readonly config: ImsgConfig | RelayError;
}

/** After stdin EOF: a call still waiting on the hub answers from what it has after this… */
const EOF_GRACE_MS = 300;
/** …and whatever is still pending then is answered with an error, and the process exits 0. */
const EOF_DEADLINE_MS = 430;

/** Serves JSON-RPC on `input` until EOF (then exits 0) or a fatal stream failure (then exits 1). */
export function serveRpc(deps: RpcServerDeps): void {
  let finished = false;
  const write = (obj: Json): void => {
    if (!finished) deps.writeLine(`${JSON.stringify(obj)}\n`);
  };
  const finish = (code: number): never => {
    finished = true;
    return deps.exit(code);
  };
  const closing = new AbortController();
  const config = deps.config;
  const ready = !(config instanceof Error);
  if (!ready) deps.stderr(`imsg-relay: ${config.message}\n`);
  const hub = ready ? new HubClient({ base: config.hub, token: config.token, account: config.account }) : null;
  const chatsDeps: ChatsDeps | null = ready && hub !== null ? { hub, cache: new ChatCache(config.stateDir), attachmentsRoot: config.attachmentsRoot, closing: closing.signal } : null;
  const watches = ready && hub !== null ? new Watches({
    hub, attachmentsRoot: config.attachmentsRoot, pollWaitSeconds: config.pollWaitSeconds, hubDownExitMs: config.hubDownExitSeconds * 1000,
    notify: (method, params) => write({ jsonrpc: '2.0', method, params }),
    fatal: () => finish(1),
  }) : null;

  const call = async (method: string, params: Readonly<Json>): Promise<{ result: Json; start?: () => void }> => {
    if (!['chats.list', 'messages.history', 'watch.subscribe', 'watch.unsubscribe', 'send'].includes(method)) throw new RpcError(METHOD_NOT_FOUND, method);
    if (!ready || hub === null || chatsDeps === null || watches === null) throw internal(`imsg-relay is not configured: ${(config as Error).message}`);
    switch (method) {
      case 'chats.list': return { result: await chatsList(params, chatsDeps) };
      case 'messages.history': return { result: await messagesHistory(params, chatsDeps) };
      case 'watch.subscribe': return watches.subscribe(params);
      case 'watch.unsubscribe': return { result: watches.unsubscribe(params) };
      default: return { result: await send(params, { hub, waitSeconds: config.sendWaitSeconds }) };
    }
  };

  const pending = new Map<number, RpcId>();
  let seq = 0;
  let eof = false;
  const settle = (): void => {
    if (eof && pending.size === 0) finish(0);
  };

  const handle = (line: string): void => {
    const req = parseLine(line);
    if (req === null) return;
    if (req.kind === 'refusal') {
      write({ jsonrpc: '2.0', id: req.id, error: req.error.toJSON() });
      return;
    }
    const key = ++seq;
    pending.set(key, req.id ?? null);
    call(req.method, req.params).then(({ result, start }) => {
      if (!pending.delete(key)) return;
      if (req.id !== undefined) write({ jsonrpc: '2.0', id: req.id, result });
      if (start !== undefined && !eof) start();
    }, (err: unknown) => {
      if (!pending.delete(key)) return;
      const e = err instanceof RpcError ? err : internal(err instanceof Error ? err.message : String(err));
      write({ jsonrpc: '2.0', id: req.id ?? null, error: e.toJSON() });
    }).finally(settle);
  };

  const splitter = new LineSplitter();
  deps.input.setEncoding('utf8');
  deps.input.on('data', (chunk: string) => { for (const l of splitter.push(chunk)) handle(l); });
  const onEnd = (): void => {
    if (eof) return;
    eof = true;
    for (const l of splitter.end()) handle(l);
    watches?.stopAll();
    setTimeout(() => closing.abort(), EOF_GRACE_MS).unref();
    setTimeout(() => {
      for (const id of pending.values()) write({ jsonrpc: '2.0', id, error: internal('stdin closed before the answer was ready').toJSON() });
      pending.clear();
      finish(0);
    }, EOF_DEADLINE_MS);
    settle();
  };
  deps.input.on('end', onEnd);
  deps.input.on('close', onEnd);
  deps.input.on('error', onEnd);
}
