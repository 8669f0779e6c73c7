// The hub's end of the link benchmark, in its own process (as on a separate machine): a sealed link
// server or a plain ws server that acknowledges every items message. Prints its port on stdout.
// Usage: node --import tsx bench/link-peer.ts sealed <hub secret b64> <relay public b64> | plain
import { WebSocketServer } from 'ws';
import { systemClock } from '../relay/clock.js';
import { DEFAULT_CHANNEL_OPTIONS } from '../relay/link/channel.js';
import { keyPairFromSecret } from '../relay/link/keys.js';
import { LinkServer } from '../relay/link/server.js';
import { silentLogger } from '../relay/logger.js';

const [mode, hubSecret, relayPublic] = process.argv.slice(2);
if (mode === 'sealed') {
  const server = new LinkServer({
    host: '127.0.0.1', port: 0, keys: keyPairFromSecret(new Uint8Array(Buffer.from(hubSecret!, 'base64'))),
    relays: new Map([[relayPublic!, 'bench']]), clock: systemClock, logger: silentLogger(), channel: DEFAULT_CHANNEL_OPTIONS,
    onChannel: (ch) => ch.attach({ message: (m) => { if (m.t === 'items') ch.send({ t: 'ack', seq: m.items[m.items.length - 1]!.seq }); }, close: () => undefined }),
  });
  process.stdout.write(`${await server.listen()}\n`);
} else {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { items: Array<{ seq: number }> };
    ws.send(JSON.stringify({ t: 'ack', seq: m.items[m.items.length - 1]!.seq }));
  }));
  process.stdout.write(`${(wss.address() as { port: number }).port}\n`);
}
process.on('SIGTERM', () => process.exit(0));
