// A Messages stand-in in its own process (as Messages is): opens chat.db, inserts one incoming
// row per text argument into the given 1:1 chat, prints the GUIDs as JSON and exits.
// Usage: node --import tsx test/support/write-rows.ts <chat.db> <chat guid> <handle> <text>...
import { MessagesDb } from '../../relay/simulator/messages-db.js';

const [path, chat, handle, ...texts] = process.argv.slice(2);
if (path === undefined || chat === undefined || handle === undefined) {
  process.stderr.write('usage: write-rows.ts <chat.db> <chat guid> <handle> <text>...\n');
  process.exit(2);
}
const w = new MessagesDb(path);
w.chat({ guid: chat, identifier: handle, participants: [handle] });
const guids = texts.map((text) => w.insert({ chat, handle, text }).guid);
w.close();
process.stdout.write(`${JSON.stringify(guids)}\n`);
