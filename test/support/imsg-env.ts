// A real hub + real Mac relay + the simulated Messages, with the fixture of contract §11 written into
// chat.db (chats 7 and 9, rows 101…105 with their ROWIDs and ages) and a config file for `imsg-relay`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCommandBuilt } from './imsg-build.js';
import { ImsgProcess } from './imsg-process.js';
import { fetchAttachment, RelayEnv, type RelayEnvOptions } from './relay-env.js';

export const DM7 = { guid: 'iMessage;-;+15551230000', identifier: '+15551230000', handle: '+15551230000' } as const;
export const GROUP9 = { guid: 'iMessage;+;chat100000000000000001', identifier: 'chat100000000000000001', name: 'Team', members: ['+15551230000', '+15559870000'] } as const;
export const PHOTO_BYTES = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7) % 256));

export interface CommandConfig {
  readonly pollWaitSeconds?: number;
  readonly hubDownExitSeconds?: number;
  readonly sendWaitSeconds?: number;
}

/** One running set-up shared by the scenarios of a test file. */
export class ImsgEnv {
  readonly relay = new RelayEnv();
  readonly configFile: string;
  readonly attachmentsRoot: string;
  readonly stateDir: string;
  private readonly procs: ImsgProcess[] = [];

  constructor() {
    this.configFile = join(this.relay.dir, 'imsg', 'config.json');
    this.attachmentsRoot = join(this.relay.dir, 'imsg', 'attachments');
    this.stateDir = join(this.relay.dir, 'imsg', 'state');
  }

  get dir(): string {
    return this.relay.dir;
  }

  /** Builds dist if stale, prepares and starts hub + relay, writes the fixture and waits until the hub has it. */
  async start(opts: { relay?: RelayEnvOptions; command?: CommandConfig; fixture?: boolean } = {}): Promise<void> {
    await ensureCommandBuilt();
    const d = this.relay.dir;
    await this.relay.prepare({
      webhook: false,
      ...opts.relay,
      macExtra: { attachments: { stagingDir: join(d, 'Messages', 'Attachments', 'imessage-relay'), waitSeconds: 5 }, ...opts.relay?.macExtra },
    });
    this.writeCommandConfig(opts.command);
    await this.relay.startLinked();
    if (opts.fixture !== false) await this.writeFixture();
  }

  /** (Re)writes the command's config (hub address, token file, folders). */
  writeCommandConfig(extra: CommandConfig = {}): void {
    mkdirSync(join(this.relay.dir, 'imsg'), { recursive: true });
    writeFileSync(this.configFile, JSON.stringify({
      hub: `http://127.0.0.1:${this.relay.apiPort}`, tokenFile: join(this.relay.dir, 'keys', 'token'), account: null,
      attachmentsRoot: this.attachmentsRoot, stateDir: this.stateDir, ...extra,
    }));
  }

  /** Sets the next ROWID of a chat.db table (AUTOINCREMENT): the next insert gets `next`. */
  private nextRowid(table: 'chat' | 'message', next: number): void {
    const db = this.relay.writer.db;
    db.prepare('DELETE FROM sqlite_sequence WHERE name = ?').run(table);
    db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table, next - 1);
  }

  /** Contract §11's fixture: chats 7 and 9, rows 101…105 (104 with photo.jpg, 105 a love tapback on G-101). */
  async writeFixture(): Promise<void> {
    const w = this.relay.writer;
    this.nextRowid('chat', 7);
    if (w.chat({ guid: DM7.guid, identifier: DM7.identifier, participants: [DM7.handle] }) !== 7) throw new Error('chat 7 did not get ROWID 7');
    this.nextRowid('chat', 9);
    if (w.chat({ guid: GROUP9.guid, identifier: GROUP9.identifier, group: true, name: GROUP9.name, participants: [...GROUP9.members] }) !== 9) throw new Error('chat 9 did not get ROWID 9');
    this.nextRowid('message', 101);
    const ago = (min: number): number => Date.now() - min * 60_000;
    const photo = join(this.relay.dir, 'Messages', 'Attachments', 'in', 'photo.jpg');
    mkdirSync(join(this.relay.dir, 'Messages', 'Attachments', 'in'), { recursive: true });
    writeFileSync(photo, PHOTO_BYTES);
    // One transaction: the reader sees 104 with its attachment, whatever the machine's load.
    const rows = w.db.transaction(() => {
      const out = [
        w.insert({ chat: DM7.guid, guid: 'G-101', handle: DM7.handle, text: 'one', dateMs: ago(5) }),
        w.insert({ chat: DM7.guid, guid: 'G-102', handle: DM7.handle, fromMe: true, isSent: true, isDelivered: true, text: 'two', dateMs: ago(4) }),
        w.insert({ chat: GROUP9.guid, guid: 'G-103', handle: '+15559870000', text: 'three', dateMs: ago(3) }),
        w.insert({ chat: DM7.guid, guid: 'G-104', handle: DM7.handle, text: 'four', dateMs: ago(2) }),
      ];
      w.attach(104, { guid: 'at_0_G104', filename: photo, name: 'photo.jpg', mimeType: 'image/jpeg', uti: 'public.jpeg', bytes: PHOTO_BYTES.length });
      out.push(w.insert({ chat: DM7.guid, guid: 'G-105', handle: DM7.handle, text: 'Loved “one”', associatedGuid: 'p:0/G-101', associatedType: 2000, dateMs: ago(1) }));
      return out;
    })();
    if (rows.map((r) => r.rowid).join() !== '101,102,103,104,105') throw new Error(`fixture rows got ROWIDs ${rows.map((r) => r.rowid).join()}`);
    await this.hubHas('G-105');
    const photoAnswer = await fetchAttachment(this.relay, '/v1/attachments/at_0_G104', 30_000);
    if (photoAnswer.status !== 200) throw new Error(`the fixture photo did not reach the hub (${photoAnswer.status})`);
    await photoAnswer.arrayBuffer();
  }

  /** Waits until the hub has stored the event of the row with `guid`. */
  async hubHas(guid: string, timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let after = 0;
    for (;;) {
      const r = await (await this.relay.api(`/v1/events?after=${after}&wait=2&limit=1000`)).json() as { events: Array<{ event: { guid: string } }>; next: number };
      if (r.events.some((e) => e.event.guid === guid)) return;
      after = r.next;
      if (Date.now() > until) throw new Error(`the hub never stored ${guid}`);
    }
  }

  /** Restarts the hub (after a kill) and resolves once the relay's link to it is up again. */
  async restartHub(): Promise<void> {
    const seen = this.relay.mac!.lines.length;
    await this.relay.startHub();
    const until = Date.now() + 30_000;
    while (!this.relay.mac!.lines.slice(seen).some((l) => l.msg === 'link up')) {
      if (Date.now() > until) throw new Error('the relay did not link up with the restarted hub');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** An inbound message from `handle` in `chat` (default: chat 7), as Messages writes it. */
  inbound(text: string, chat: string = DM7.guid, handle: string = DM7.handle): { rowid: number; guid: string } {
    return this.relay.writer.insert({ chat, handle, text });
  }

  /** A new `imsg-relay rpc --json` process, closed (and checked) by `closeAll` if the test does not. */
  spawn(args?: readonly string[], configFile: string = this.configFile): ImsgProcess {
    const p = new ImsgProcess(configFile, args);
    this.procs.push(p);
    return p;
  }

  /** Kills processes a failed test left behind, then stops hub and relay and removes the folder. */
  async stop(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
    await this.relay.close();
  }
}
