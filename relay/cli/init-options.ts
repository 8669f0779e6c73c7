// The command line of `imessage-relay init` (both ends), and the small checks both halves share.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { parseArgs } from 'node:util';
import { ACCOUNT } from '../config/starter.js';
import { UsageError } from './io.js';

export const OPTIONS = {
  hub: { type: 'boolean' }, mac: { type: 'boolean' }, json: { type: 'boolean' }, config: { type: 'string' },
  account: { type: 'string' }, link: { type: 'string' }, url: { type: 'string' }, api: { type: 'string' },
  'data-dir': { type: 'string' }, pair: { type: 'string' }, 'chat-db': { type: 'string' }, health: { type: 'string' },
  'add-relay': { type: 'string' }, invite: { type: 'string' },
} as const;

export type InitValues = ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; strict: true }>>['values'];

/** A path given on the command line, made absolute (the config's own paths are relative to the config). */
export function absolute(p: string | undefined): string | null {
  return p === undefined ? null : p.startsWith('~/') ? join(homedir(), p.slice(2)) : resolve(p);
}

/** An account name or a usage error. */
export function checkAccount(account: string): string {
  if (!ACCOUNT.test(account)) throw new UsageError(`--account "${account}": letters, digits and . _ @ + - only, at most 64`);
  return account;
}

