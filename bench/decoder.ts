// Decoder speed (MB/s, µs per typical body) beside node-typedstream in the same run, and where
// node-typedstream is wrong or fails (long bodies, ≥ 65,536 bytes).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { decodeAttributedBody } from '../relay/typedstream/attributed-body.js';
import { encodeAttributedBody } from '../relay/simulator/typedstream-writer.js';
import { FIXTURES_DIR, HAVE_FIXTURES } from '../test/support/fixtures.js';

type Log = (name: string, value: number, unit: string) => void;

const require = createRequire(import.meta.url);
const { Unarchiver } = require('node-typedstream') as {
  Unarchiver: { open(b: Buffer): { decodeAll(): Array<{ values: Array<{ string?: string }> }> } };
};

function theirs(b: Buffer): string | undefined {
  return Unarchiver.open(b).decodeAll()[0]?.values[0]?.string;
}
function ours(b: Buffer): string {
  return decodeAttributedBody(b).text;
}

function corpus(): Array<{ blob: Buffer; text: string }> {
  if (!HAVE_FIXTURES) {
    return ['Noter test', 'See you at 6 🙂', 'Une phrase un peu plus longue, avec des accents.', 'x'.repeat(400)]
      .map((text) => ({ blob: encodeAttributedBody(text), text }));
  }
  const dir = join(FIXTURES_DIR, 'attributed-body');
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Array<{ file: string; text: string }>;
  void readdirSync;
  return manifest.filter((e) => e.file !== 'ExtraData').map((e) => ({ blob: readFileSync(join(dir, e.file)), text: e.text }));
}

function rate(fn: (b: Buffer) => unknown, blobs: readonly Buffer[], minMs = 700): { usPerBody: number; mbPerS: number } {
  for (let i = 0; i < 200; i++) fn(blobs[i % blobs.length]!);
  let n = 0;
  let bytes = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (const b of blobs) { fn(b); bytes += b.length; n++; }
    t = performance.now();
  }
  const s = (t - t0) / 1000;
  return { usPerBody: (s * 1e6) / n, mbPerS: bytes / 1e6 / s };
}

export async function decoderBench(log: Log): Promise<void> {
  const typical = corpus();
  const blobs = typical.map((x) => x.blob);
  const a = rate(ours, blobs);
  const b = rate(theirs, blobs);
  log('decoder.typical_us_per_body', a.usPerBody, 'µs');
  log('decoder.typical_mb_per_s', a.mbPerS, 'MB/s');
  log('node_typedstream.typical_us_per_body', b.usPerBody, 'µs');
  log('node_typedstream.typical_mb_per_s', b.mbPerS, 'MB/s');
  log('decoder.speedup_typical', b.usPerBody / a.usPerBody, '×');

  const long = [encodeAttributedBody('Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(1100).slice(0, 60_000))];
  const la = rate(ours, long, 500);
  const lb = rate(theirs, long, 500);
  log('decoder.long_60kb_mb_per_s', la.mbPerS, 'MB/s');
  log('node_typedstream.long_60kb_mb_per_s', lb.mbPerS, 'MB/s');
  log('decoder.speedup_long', la.mbPerS / lb.mbPerS, '×');

  const huge = encodeAttributedBody('y'.repeat(16 * 1024 * 1024));
  const t0 = performance.now();
  const ok = ours(huge).length === 16 * 1024 * 1024;
  log('decoder.body_16mib_ms', performance.now() - t0, 'ms');
  if (!ok) throw new Error('16 MiB body decoded wrong');

  let theirWrong = 0;
  let ourWrong = 0;
  const cases = [...typical, ...[65_536, 70_000, 200_000].map((n) => ({ text: 'z'.repeat(n), blob: Buffer.alloc(0) }))]
    .map((c) => (c.blob.length === 0 ? { text: c.text, blob: encodeAttributedBody(c.text) } : c));
  for (const c of cases) {
    try { if (theirs(c.blob) !== c.text) theirWrong++; } catch { theirWrong++; }
    try { if (ours(c.blob) !== c.text) ourWrong++; } catch { ourWrong++; }
  }
  log('decoder.wrong_or_failed', ourWrong, `of ${cases.length}`);
  log('node_typedstream.wrong_or_failed', theirWrong, `of ${cases.length}`);
}
