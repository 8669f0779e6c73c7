// What someone holding only a log line can try: hash every phone number of the shape the line shows
// with plain SHA-256 and compare with the tag after '#'.
import { createHash } from 'node:crypto';

/** The candidates whose plain SHA-256 (hex) starts with the tag of `shown` ("+1•••23#<tag>"). */
export function plainHashMatches(shown: string, candidates: Iterable<string>): string[] {
  const m = /#([0-9a-f]+)$/.exec(shown);
  if (m === null) return [];
  const tag = m[1]!;
  return [...candidates].filter((c) => createHash('sha256').update(c).digest('hex').startsWith(tag));
}

/** The 10,000 numbers "+1 5555 dddd 23", among them ALICE (+15555550123). */
export function* nearbyNumbers(): Generator<string> {
  for (let i = 0; i < 10_000; i++) yield `+15555${String(i).padStart(4, '0')}23`;
}
