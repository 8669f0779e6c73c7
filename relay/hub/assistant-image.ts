// Vision's view of the hub's file store: an incoming attachment's bytes, still on their way, or gone.
import { readFileSync } from 'node:fs';
import type { ImageLookup } from '../assistant/images.js';
import type { HubStore } from '../store/hub-store.js';
import type { FileVault } from './file-vault.js';

/** The bytes of attachment `guid` of `account` (from its upload when the relay sent it for a command). */
export function assistantImage(store: HubStore, vault: FileVault, account: string, guid: string): ImageLookup {
  const row = store.files.incoming(guid, account);
  if (row === null) return { state: 'gone' };
  if (row.state === 'pending') return { state: 'pending' };
  if (row.state !== 'ready') return { state: 'gone' };
  const path = row.upload_id !== null ? vault.uploaded(row.upload_id) : vault.incomingPath(account, guid);
  if (path === null) return { state: 'gone' };
  try {
    return { state: 'ready', bytes: readFileSync(path) };
  } catch {
    return { state: 'gone' };
  }
}
