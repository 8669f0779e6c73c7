// What one event may hold (README "The event format", Limits): a text is cut to 512 KiB of UTF-8 on a
// code point boundary, names and mention texts to 4 KiB, lists to 1,000 entries. Pure.

/** The limits an event's fields are cut to when it is built on the Mac. */
export const EVENT_LIMITS = {
  /**
   * `text` (message, from_me, edit), in UTF-8 bytes: more than five times the 100,000 characters the
   * hub's API lets an assistant send, far beyond anything typed; a paste from the user's own device
   * can be larger (12 million characters have been seen), and is cut here.
   */
  textBytes: 512 * 1024,
  /** A chat's or group's name and a mention's text, in UTF-8 bytes. */
  nameBytes: 4 * 1024,
  /** Entries of `chat.participants`, `attachments` and `mentions`. */
  listEntries: 1000,
} as const;

const encoder = new TextEncoder();

/**
 * The longest prefix of `s` whose UTF-8 encoding fits in `maxBytes`, cut between code points (a
 * surrogate pair is never split). Returns `s` itself when it fits.
 */
export function cutUtf8(s: string, maxBytes: number): string {
  // Each UTF-16 unit is at most 3 bytes of UTF-8: short strings need no encoding to know they fit.
  if (s.length * 3 <= maxBytes) return s;
  const head = s.length > maxBytes ? s.slice(0, maxBytes) : s;
  const buf = new Uint8Array(maxBytes);
  const { read } = encoder.encodeInto(head, buf);
  if (read === s.length) return s;
  // encodeInto stops before a code point that does not fit whole; a pair cut by the slice above is
  // dropped, not written as U+FFFD, when it is the last thing read.
  const last = s.charCodeAt(read - 1);
  return last >= 0xd800 && last <= 0xdbff ? s.slice(0, read - 1) : s.slice(0, read);
}

/** A text cut to `EVENT_LIMITS.textBytes`, and whether it was. */
export function boundText(text: string | null): { text: string | null; truncated: boolean } {
  if (text === null) return { text, truncated: false };
  const cut = cutUtf8(text, EVENT_LIMITS.textBytes);
  return { text: cut, truncated: cut !== text };
}

/** A name cut to `EVENT_LIMITS.nameBytes` (null stays null). */
export function boundName<T extends string | null>(name: T): T {
  return (name === null ? null : cutUtf8(name, EVENT_LIMITS.nameBytes)) as T;
}

/** A list cut to `EVENT_LIMITS.listEntries`. */
export function boundList<T>(list: readonly T[]): readonly T[] {
  return list.length <= EVENT_LIMITS.listEntries ? list : list.slice(0, EVENT_LIMITS.listEntries);
}
