// Deterministic fuzz inputs for the typedstream decoder: random bytes behind a valid header and
// mutations (bit flips, byte changes, truncation, duplication, splices) of real and encoded bodies.

/** A small seeded PRNG (mulberry32): returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEADER = Buffer.from('040b73747265616d747970656481e803', 'hex');
const INTERESTING = [0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x91, 0x92, 0xff, 0x00, 0x7f, 0x40, 0x2b];

export function* fuzzCases(seeds: readonly Buffer[], rand: () => number, count: number): Generator<Buffer> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0; i < count; i++) {
    const mode = i % 6;
    if (mode === 0) {
      const body = Buffer.alloc(Math.floor(rand() * 200));
      for (let j = 0; j < body.length; j++) body[j] = rand() < 0.3 ? pick(INTERESTING) : Math.floor(rand() * 256);
      yield Buffer.concat([HEADER, body]);
      continue;
    }
    const b = Buffer.from(pick(seeds));
    const flips = 1 + Math.floor(rand() * 4);
    if (mode === 1) for (let f = 0; f < flips; f++) { const p = Math.floor(rand() * b.length); b[p] = b[p]! ^ (1 << Math.floor(rand() * 8)); }
    if (mode === 2) for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = pick(INTERESTING);
    if (mode === 3) { yield b.subarray(0, Math.floor(rand() * b.length)); continue; }
    if (mode === 4) {
      const at = Math.floor(rand() * b.length);
      const len = Math.floor(rand() * 16);
      yield Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
      continue;
    }
    if (mode === 5) {
      const other = pick(seeds);
      const at = 16 + Math.floor(rand() * Math.max(1, b.length - 16));
      yield Buffer.concat([b.subarray(0, at), other.subarray(16 + Math.floor(rand() * Math.max(1, other.length - 16)))]);
      continue;
    }
    yield b;
  }
}
