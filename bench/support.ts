// Shared pieces of the benchmarks: a chat.db of N messages, percentiles.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessagesDb } from '../relay/simulator/messages-db.js';
import { MINIMAL_CHATDB_SCHEMA } from '../relay/simulator/schema.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { HAVE_FIXTURES, fixtureText } from '../test/support/fixtures.js';

export const CHAT = 'iMessage;-;+15555550123';
export const HANDLE = '+15555550123';

export interface BenchDb {
  readonly writer: MessagesDb;
  readonly dir: string;
  cleanup(): void;
}

/** A chat.db (Apple's macOS 15 schema when the fixtures are there) holding `rows` messages. */
export function benchDb(rows: number): BenchDb {
  const dir = mkdtempSync(join(tmpdir(), 'imr-bench-'));
  mkdirSync(join(dir, 'Messages'));
  const schema = HAVE_FIXTURES ? [fixtureText('chat-db-schema.sql')] : [MINIMAL_CHATDB_SCHEMA];
  const writer = new MessagesDb(join(dir, 'Messages', 'chat.db'), schema);
  writer.chat({ guid: CHAT, identifier: HANDLE, participants: [HANDLE] });
  const body = encodeAttributedBody('A typical message of a few words, as people write them.');
  const chatId = writer.chat({ guid: CHAT, identifier: HANDLE, participants: [HANDLE] });
  const handleId = writer.handle(HANDLE);
  const msg = writer.db.prepare(`INSERT INTO message (guid, text, attributedBody, handle_id, service, date, is_from_me, is_delivered, is_finished)
    VALUES (?, NULL, ?, ?, 'iMessage', ?, 0, 1, 1)`);
  const join_ = writer.db.prepare('INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)');
  const batch = writer.db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const date = 700_000_000_000_000_000n + BigInt(i) * 1_000_000_000n;
      const id = msg.run(`BENCH-${i}`, body, handleId, date).lastInsertRowid;
      join_.run(chatId, id, date);
    }
  });
  for (let i = 0; i < rows; i += 50_000) batch(i, Math.min(rows, i + 50_000));
  writer.db.pragma('wal_checkpoint(TRUNCATE)');
  return { writer, dir, cleanup: () => { writer.close(); rmSync(dir, { recursive: true, force: true }); } };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
