// The chat cache in stateDir: the last chats the hub listed, so `chats.list` (OpenClaw's probe)
// answers while the hub or the Mac is unreachable. Written atomically (temporary file, rename).
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Chat = Record<string, unknown>;

const MAX = 1000;

export class ChatCache {
  private readonly file: string;

  constructor(private readonly stateDir: string) {
    this.file = join(stateDir, 'chats-cache.json');
  }

  /** The cached chats, most recent activity first; [] when there is no cache (yet). */
  read(limit: number): Chat[] {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as { chats?: unknown };
      return Array.isArray(parsed.chats) ? (parsed.chats as Chat[]).slice(0, limit) : [];
    } catch {
      return [];
    }
  }

  /** Merges `chats` (fresh from the hub) into the cache. Best effort: a failure to write is ignored. */
  merge(chats: readonly Chat[]): void {
    try {
      const byId = new Map<number, Chat>();
      for (const c of [...this.read(MAX), ...chats]) byId.set(c['id'] as number, c);
      const all = [...byId.values()].sort((a, b) => String(b['last_message_at'] ?? '').localeCompare(String(a['last_message_at'] ?? ''))).slice(0, MAX);
      mkdirSync(this.stateDir, { recursive: true, mode: 0o750 });
      const temp = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temp, JSON.stringify({ chats: all }), { mode: 0o640 });
      renameSync(temp, this.file);
    } catch { /* the cache is an optimisation */ }
  }
}
