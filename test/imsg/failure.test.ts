// Contract §11 scenarios 46–50 with real processes: kill -9 of the Mac relay and of the hub while a
// watch is open (nothing missed, nothing repeated), resubscribing after a restart with the same
// id/guid pairs, a stream that cannot recover (error line, non-zero exit), and 300 rows in order.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sleep } from '../support/chatdb-env.js';
import { DM7, ImsgEnv } from '../support/imsg-env.js';
import type { ImsgProcess, Msg } from '../support/imsg-process.js';
import { assertMessageShape } from '../support/imsg-shape.js';

describe('imsg-relay: failure and restart (contract §11, 46–50)', () => {
  const env = new ImsgEnv();
  /** Every row in chat.db, ascending (all are messages or a tapback: all in the watch with reactions). */
  const rows: number[] = [101, 102, 103, 104, 105];
  /** The id → guid pairs every process saw. */
  const pairs = new Map<number, string>();
  before(async () => { await env.start({ command: { pollWaitSeconds: 2, hubDownExitSeconds: 60 } }); });
  after(async () => { await env.stop(); });

  const inbound = (text: string): { rowid: number; guid: string } => {
    const r = env.inbound(text);
    rows.push(r.rowid);
    return r;
  };
  const watch = async (since?: number): Promise<ImsgProcess> => {
    const p = env.spawn();
    await p.subscribe({ attachments: false, include_reactions: true, ...(since === undefined ? {} : { since_rowid: since }) });
    return p;
  };
  /** Waits for `last`, then: the whole stream is exactly `want`, well-formed, with the same guid per id as anywhere before. */
  const expectStream = async (p: ImsgProcess, want: number[], timeoutMs = 30_000): Promise<Msg[]> => {
    await p.message(want[want.length - 1]!, timeoutMs);
    const got = p.messages();
    assert.deepEqual(got.map((m) => m.id), want, 'nothing missed, nothing repeated, ascending');
    for (const m of got) {
      assertMessageShape(m);
      const seen = pairs.get(m.id);
      if (seen !== undefined) assert.equal(m.guid, seen, `row ${m.id} keeps its guid`);
      pairs.set(m.id, m.guid);
    }
    return got;
  };

  it('48: live watch, exit, rows while nothing runs, resubscribe from the cursor: exactly the rest; again from further back: same ids and guids', async () => {
    const a = await watch();
    const r109 = inbound('109');
    const r110 = inbound('110');
    await expectStream(a, [r109.rowid, r110.rowid]);
    await a.close();
    const r111 = inbound('111');
    const r112 = inbound('112');
    await env.hubHas(r112.guid);
    const b = await watch(r110.rowid);
    await b.message(r112.rowid);
    const r113 = inbound('113 live');
    await expectStream(b, [r111.rowid, r112.rowid, r113.rowid]);
    await b.close();
    const again = await watch(r109.rowid - 2);
    await expectStream(again, rows.filter((id) => id > r109.rowid - 2));
    await again.close();
  });

  it('47 + kill -9 of the Mac relay: the watch stays up through the outage and then delivers the rows written meanwhile, in order', async () => {
    const p = await watch();
    await env.relay.mac!.kill9();
    const r1 = inbound('during outage 1');
    const r2 = inbound('during outage 2');
    await sleep(60_000); // the contract's outage, 60 s: thirty long-polls of the watch (pollWaitSeconds 2) come back empty
    assert.equal(p.child.exitCode, null, 'the watch process is still running');
    await env.relay.startMac();
    await expectStream(p, [r1.rowid, r2.rowid]);
    const r3 = inbound('after outage');
    await expectStream(p, [r1.rowid, r2.rowid, r3.rowid]);
    await p.close();
  });

  it('kill -9 of the hub while subscribed: after its restart the watch goes on, nothing missed or repeated', async () => {
    const p = await watch();
    const before = inbound('before hub kill');
    await expectStream(p, [before.rowid]);
    await env.relay.hub!.kill9();
    const during = inbound('while the hub is down');
    await env.restartHub();
    const afterRow = inbound('after hub restart');
    await expectStream(p, [before.rowid, during.rowid, afterRow.rowid], 45_000);
    assert.equal(p.child.exitCode, null);
    await p.close();
  });

  it('50: 300 rows pending, since_rowid −1: strictly ascending, none missing, none repeated', async () => {
    const w = env.relay.writer;
    w.db.transaction(() => { for (let i = 0; i < 300; i++) rows.push(w.insert({ chat: DM7.guid, handle: DM7.handle, text: `bulk ${i}` }).rowid); })();
    await env.hubHas(pairsGuid(rows[rows.length - 1]!), 60_000);
    const p = await watch(-1);
    await expectStream(p, [...rows], 60_000);
    await p.close();
  });

  /** The guid of a row written directly through the writer. */
  function pairsGuid(rowid: number): string {
    return (env.relay.writer.db.prepare('SELECT guid FROM message WHERE ROWID = ?').get(rowid) as { guid: string }).guid;
  }

  it('46, 49: the hub gone for good: error line, exit ≠ 0 within 5 s; a fresh process then answers the probe and resumes from the last id', async () => {
    const quick = join(env.dir, 'imsg', 'quick-give-up.json');
    writeFileSync(quick, JSON.stringify({ ...JSON.parse(readFileSync(env.configFile, 'utf8')) as object, hubDownExitSeconds: 2 }));
    const p = env.spawn(undefined, quick);
    const s = await p.subscribe({ attachments: false, include_reactions: true });
    const last = inbound('last before the end');
    await p.message(last.rowid);
    const killedAt = performance.now();
    await env.relay.hub!.kill9();
    const exit = await p.exited;
    assert.ok(performance.now() - killedAt <= 5000, `exited ${(performance.now() - killedAt).toFixed(0)} ms after the hub died`);
    assert.notEqual(exit.code, 0);
    const err = p.lines.find((l) => l.method === 'error')!;
    assert.equal((err.params as { subscription: number }).subscription, s);
    assert.equal(typeof (err.params as { message: unknown }).message, 'string');
    assert.equal(typeof (err.params as { error: { message: unknown } }).error.message, 'string');
    assert.equal(p.lines[p.lines.length - 1], err, 'nothing after the error line');
    p.assertPure();
    // 49: the gateway restarts the channel.
    const missed = inbound('written while the hub was gone');
    await env.restartHub();
    const probe = env.spawn();
    const answer = await probe.request('chats.list', { limit: 1 }, 10_000);
    assert.ok(Array.isArray(answer.result!['chats']));
    await probe.close();
    const q = await watch(last.rowid);
    await expectStream(q, [missed.rowid], 45_000);
    await q.close();
  });
});
