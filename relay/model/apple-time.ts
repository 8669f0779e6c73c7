// Apple's "Core Data" time: seconds or nanoseconds since 2001-01-01T00:00:00Z, as chat.db stores it.

/** Milliseconds between the Unix epoch and Apple's 2001-01-01 epoch. */
export const APPLE_EPOCH_UNIX_MS = 978_307_200_000;
const NS_THRESHOLD = 1_000_000_000_000n;

/**
 * Converts a chat.db date (BigInt nanoseconds since 2001, or seconds in very old rows) to Unix ms.
 * Returns null for "not set" (0, NULL, negative).
 */
export function appleToUnixMs(value: bigint | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const v = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
  if (v <= 0n) return null;
  if (v >= NS_THRESHOLD) return Number(v / 1_000_000n) + APPLE_EPOCH_UNIX_MS;
  return Number(v) * 1000 + APPLE_EPOCH_UNIX_MS;
}

/** chat.db date → ISO 8601 UTC with milliseconds, or null when not set. */
export function appleToIso(value: bigint | number | null | undefined): string | null {
  const ms = appleToUnixMs(value);
  return ms === null ? null : new Date(ms).toISOString();
}

/** Floating seconds since 2001 (as in message_summary_info) → ISO 8601, or null. */
export function appleSecondsToIso(seconds: number | null | undefined): string | null {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) return null;
  return new Date(Math.round(seconds * 1000) + APPLE_EPOCH_UNIX_MS).toISOString();
}

/** Unix ms → chat.db nanoseconds (BigInt, exact). */
export function unixMsToApple(ms: number): bigint {
  return (BigInt(Math.trunc(ms)) - BigInt(APPLE_EPOCH_UNIX_MS)) * 1_000_000n;
}
