// The Mac daemon's config (`imessage-relay run`), validated at start. README "Configuration" lists
// every key; this file is the source of truth for names and defaults.
import { parseTunnel, type TunnelConfig } from './tunnel-config.js';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { configPath } from './load.js';
import type { ConfigNode } from './validate.js';
import { DEFAULT_MAX_FILE_BYTES } from '../model/files.js';
import { DEFAULT_MAX_ITEM_BYTES } from '../model/wire.js';
import { parseMacUpkeep, type MacUpkeep } from './upkeep-config.js';

export interface LogConfig {
  readonly level: string;
  readonly file: string | null;
  readonly logContent: boolean;
}

export interface LinkConfig {
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  readonly maxFrameBytes: number;
  readonly backoffBaseMs: number;
  readonly backoffCapMs: number;
  /** Largest item (event, result, chunk, command) stored, sent or accepted; larger ones are refused one by one (default 4 MiB). */
  readonly maxItemBytes?: number;
}

export interface MacConfig {
  readonly chatDb: string;
  readonly dataDir: string;
  readonly keyFile: string;
  readonly hubUrl: string;
  readonly hubPublicKey: string;
  readonly health: { readonly host: string; readonly port: number };
  readonly reader: { readonly settleMs: number; readonly ageFenceMinutes: number; readonly pollIntervalMs: number };
  readonly link: LinkConfig & { readonly window: number; readonly batch: number; readonly handshakeTimeoutMs?: number };
  readonly outbox: { readonly degradedDepth: number; readonly degradedAgeSeconds: number };
  readonly sender: {
    /** Off: commands wait in the inbox (the demo, until it has a simulated osascript). */
    readonly enabled: boolean;
    readonly osascript: string; readonly timeoutMs: number; readonly perSecond: number; readonly perChatPerSecond: number;
    readonly confirmMs: number; readonly followMs: number;
  };
  readonly attachments: {
    /** Where files from the hub are staged for Messages (it is sandboxed: keep it under ~/Library/Messages). */
    readonly stagingDir: string;
    /** Largest file sent either way. */
    readonly maxBytes: number;
    /** How long an incoming attachment's file is waited for after its row. */
    readonly waitSeconds: number;
    /** Send incoming attachments' bytes to the hub. */
    readonly upload: boolean;
    /**
     * The only folders incoming attachments are read from (regular files, no symbolic link below the
     * folder). Absent (a config built in code): the folder holding `chatDb`.
     */
    readonly roots?: readonly string[];
  };
  readonly quietMinutes: number;
  readonly retentionDays: number;
  readonly tunnel: TunnelConfig;
  readonly log: LogConfig;
  /** When the scheduled upkeep jobs run (absent in a config built in code: the defaults). */
  readonly upkeep?: MacUpkeep;
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function parseLog(node: ConfigNode, defaultFile: string): LogConfig {
  node.only(['level', 'file', 'logContent']);
  const level = node.string('level', 'info');
  if (!LEVELS.includes(level)) node.fail('level', `one of ${LEVELS.join(', ')}`, level);
  return { level, file: node.has('file') ? node.optionalString('file') : defaultFile, logContent: node.boolean('logContent', false) };
}

export function parseLink(node: ConfigNode, known: readonly string[] = []): LinkConfig {
  node.only(['heartbeatMs', 'deadAfterMs', 'maxFrameBytes', 'backoffBaseMs', 'backoffCapMs', 'maxItemBytes', ...known]);
  const heartbeatMs = node.number('heartbeatMs', 10_000, { min: 100, integer: true });
  const deadAfterMs = node.number('deadAfterMs', 30_000, { min: 300, integer: true });
  if (deadAfterMs <= heartbeatMs) node.fail('deadAfterMs', `more than heartbeatMs (${heartbeatMs})`, deadAfterMs);
  return {
    heartbeatMs, deadAfterMs,
    maxFrameBytes: node.number('maxFrameBytes', 1024 * 1024, { min: 4096, max: 64 * 1024 * 1024, integer: true }),
    backoffBaseMs: node.number('backoffBaseMs', 500, { min: 10, integer: true }),
    backoffCapMs: node.number('backoffCapMs', 30_000, { min: 100, integer: true }),
    // Room for a text at its limit (512 KiB) and an attachment chunk (~350 KB on the wire); at most
    // half the link's 64 MiB message limit.
    maxItemBytes: node.number('maxItemBytes', DEFAULT_MAX_ITEM_BYTES, { min: 1024 * 1024, max: 32 * 1024 * 1024, integer: true }),
  };
}

export function parseListen(node: ConfigNode, defaultPort: number): { host: string; port: number } {
  node.only(['host', 'port']);
  return { host: node.string('host', '127.0.0.1'), port: node.number('port', defaultPort, { min: 0, max: 65535, integer: true }) };
}

/** Validates the Mac config; every error names the key and what was expected. */
export function parseMacConfig(root: ConfigNode, file: string): MacConfig {
  root.only(['chatDb', 'dataDir', 'keyFile', 'hub', 'health', 'reader', 'link', 'outbox', 'sender', 'attachments', 'quietMinutes', 'retentionDays', 'tunnel', 'log', 'upkeep']);
  const attachments = root.object('attachments');
  attachments.only(['stagingDir', 'maxBytes', 'waitSeconds', 'upload', 'roots']);
  const sender = root.object('sender');
  sender.only(['enabled', 'osascript', 'timeoutMs', 'perSecond', 'perChatPerSecond', 'confirmMs', 'followMs']);
  const dataDir = configPath(root.string('dataDir', join(homedir(), 'Library', 'Application Support', 'imessage-relay')), file);
  const hub = root.object('hub');
  hub.only(['url', 'publicKey']);
  const url = hub.string('url');
  if (!/^wss?:\/\//.test(url)) hub.fail('url', 'a ws:// or wss:// URL', url);
  const reader = root.object('reader');
  reader.only(['settleMs', 'ageFenceMinutes', 'pollIntervalMs']);
  const linkNode = root.object('link');
  const outbox = root.object('outbox');
  outbox.only(['degradedDepth', 'degradedAgeSeconds']);
  const chatDb = configPath(root.string('chatDb', join(homedir(), 'Library', 'Messages', 'chat.db')), file);
  return {
    chatDb,
    dataDir,
    keyFile: configPath(root.string('keyFile', join(dataDir, 'relay.key')), file),
    hubUrl: url,
    hubPublicKey: hub.string('publicKey'),
    health: parseListen(root.object('health'), 7481),
    reader: {
      settleMs: reader.number('settleMs', 500, { min: 0, max: 60_000, integer: true }),
      ageFenceMinutes: reader.number('ageFenceMinutes', 15, { min: 0 }),
      pollIntervalMs: reader.number('pollIntervalMs', 1000, { min: 10, integer: true }),
    },
    link: {
      ...parseLink(linkNode, ['window', 'batch', 'handshakeTimeoutMs']),
      window: linkNode.number('window', 5000, { min: 1, integer: true }),
      batch: linkNode.number('batch', 500, { min: 1, integer: true }),
      handshakeTimeoutMs: linkNode.number('handshakeTimeoutMs', 10_000, { min: 100, integer: true }),
    },
    outbox: {
      degradedDepth: outbox.number('degradedDepth', 1000, { min: 1, integer: true }),
      degradedAgeSeconds: outbox.number('degradedAgeSeconds', 120, { min: 1 }),
    },
    sender: {
      enabled: sender.boolean('enabled', true),
      osascript: configPath(sender.string('osascript', '/usr/bin/osascript'), file),
      timeoutMs: sender.number('timeoutMs', 30_000, { min: 100, integer: true }),
      perSecond: sender.number('perSecond', 3, { min: 0.01 }),
      perChatPerSecond: sender.number('perChatPerSecond', 1, { min: 0.01 }),
      confirmMs: sender.number('confirmMs', 10_000, { min: 100, integer: true }),
      followMs: sender.number('followMs', 600_000, { min: 1000, integer: true }),
    },
    attachments: {
      stagingDir: configPath(attachments.string('stagingDir', join(homedir(), 'Library', 'Messages', 'Attachments', 'imessage-relay')), file),
      maxBytes: attachments.number('maxBytes', DEFAULT_MAX_FILE_BYTES, { min: 1, max: 2 ** 40, integer: true }),
      waitSeconds: attachments.number('waitSeconds', 600, { min: 1 }),
      upload: attachments.boolean('upload', true),
      roots: attachments.strings('roots', [dirname(chatDb)]).map((r) => configPath(r, file)),
    },
    quietMinutes: root.number('quietMinutes', 0, { min: 0 }),
    retentionDays: root.number('retentionDays', 7, { min: 0 }),
    tunnel: parseTunnel(root.object('tunnel')),
    log: parseLog(root.object('log'), join(dataDir, 'logs', 'relay.log')),
    upkeep: parseMacUpkeep(root.object('upkeep')),
  };
}
