// A simulated Messages' scripting model as JXA sees it (messages-app.md §5): lazy specifiers, chats by
// id, accounts and participants, `send`, Apple-event errors with numbers. `onSend` is told of each
// accepted send; resolving anything counts as an Apple event and is subject to the scenario's switches.
import { appendFileSync, existsSync } from 'node:fs';
import type { Scenario } from './scenario.js';

/** An Apple-event error as JXA raises it: a JS Error with `errorNumber`. */
export class AppleEventError extends Error {
  constructor(readonly errorNumber: number, message: string) {
    super(message);
  }
}

export class PathObject {
  constructor(readonly path: string) {}
  toString(): string {
    return this.path;
  }
}

export type SendTarget = { kind: 'chat'; id: string } | { kind: 'participant'; handle: string; service: string };
export type SendDirect = { kind: 'text'; value: string } | { kind: 'file'; value: string };

const blockForever = (): never => {
  const shared = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(shared, 0, 0, 60_000);
};

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The scenario's signal inside `send` (see Scenario.signalFile): a line, then a hold until the release file exists. */
function signalInSend(s: Scenario, at: 'before-row' | 'after-row', d: SendDirect): void {
  if (s.signalFile === undefined || (s.signalAt ?? 'before-row') !== at) return;
  appendFileSync(s.signalFile, `${JSON.stringify({ pid: process.pid, at, text: d.value })}\n`);
  const until = Date.now() + 120_000;
  while (s.releaseFile !== undefined && !existsSync(s.releaseFile) && Date.now() < until) sleepSync(20);
}

/** A JXA element collection: callable (→ array of specifiers), `.length` is a count event. */
function collection<T extends object>(call: () => unknown[], count: () => number, methods: T): (() => unknown[]) & T {
  const fn = Object.assign(() => call(), methods);
  Object.defineProperty(fn, 'length', { get: count });
  return fn;
}

export function messagesApplication(s: Scenario, onSend: (direct: SendDirect, to: SendTarget) => void): unknown {
  let running = s.running ?? true;
  const event = (): void => {
    if (s.tcc === 'denied') throw new AppleEventError(-1743, 'Not authorized to send Apple events to Messages.');
    if (s.tcc === 'undetermined') blockForever();
    if (!running) {
      if (s.launchFails === true) throw new AppleEventError(-600, "Application isn't running.");
      running = true;
    }
  };
  const chatSpecifier = (id: string) => {
    const resolve = (): void => {
      event();
      if (!(s.chats ?? []).includes(id) && !(s.phantomChats ?? []).includes(id)) throw new AppleEventError(-1728, "Can't get object.");
    };
    return Object.assign(() => { resolve(); return chatSpecifier(id); }, {
      __target: { kind: 'chat', id } as SendTarget,
      __resolve: resolve,
      id: () => { resolve(); return id; },
      exists: () => { event(); return (s.chats ?? []).includes(id); },
    });
  };
  const participantSpecifier = (handle: string, service: string) => Object.assign(() => participantSpecifier(handle, service), {
    __target: { kind: 'participant', handle, service } as SendTarget,
    __resolve: () => event(),
    handle: () => { event(); return handle; },
  });
  const accountSpecifier = (service: string) => ({
    serviceType: () => { event(); return service; },
    enabled: () => { event(); return true; },
    connectionStatus: () => { event(); return s.signedOut === true ? 'disconnected' : 'connected'; },
    participants: {
      byName: (h: string) => participantSpecifier(h, service),
      whose: () => () => [],
    },
  });
  const accountList = s.accounts ?? ['iMessage', 'SMS'];
  const accounts = collection(() => { event(); return accountList.map(accountSpecifier); }, () => { event(); return accountList.length; }, {
    whose: (q: { serviceType?: string }) => () => {
      event();
      if (q.serviceType === 'any') throw new AppleEventError(-1700, "Can't convert types.");
      return accountList.filter((t) => q.serviceType === undefined || t === q.serviceType).map(accountSpecifier);
    },
  });
  const chats = collection(() => { event(); return (s.chats ?? []).map(chatSpecifier); }, () => { event(); return (s.chats ?? []).length; }, {
    byId: (id: string) => chatSpecifier(id),
  });
  return {
    running: () => running,
    launch: () => { if (s.launchFails !== true) running = true; },
    activate: () => { if (s.launchFails !== true) running = true; },
    chats,
    accounts,
    send: (direct: unknown, opts: { to?: { __target?: SendTarget; __resolve?: () => void } } = {}) => {
      const to = opts.to;
      if (to?.__target === undefined || to.__resolve === undefined) throw new AppleEventError(-1700, "Can't convert types.");
      to.__resolve();
      let d: SendDirect;
      if (typeof direct === 'string') d = { kind: 'text', value: direct };
      else if (direct instanceof PathObject) d = { kind: 'file', value: direct.path };
      else throw new AppleEventError(-1700, "Can't convert types.");
      signalInSend(s, 'before-row', d);
      if (s.hang === 'before-row') blockForever();
      if (s.sendDelayMs !== undefined) sleepSync(s.sendDelayMs);
      onSend(d, to.__target);
      signalInSend(s, 'after-row', d);
      if (s.hang === 'after-row') blockForever();
      return undefined;
    },
  };
}
