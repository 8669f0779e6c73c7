// Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", sent as
// `X-Relay-Signature: v1=<hex>` with `X-Relay-Timestamp: <unix seconds>`. Receivers check both.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function sign(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Checks a signature in constant time, and that the timestamp is within `toleranceS` of now. */
export function verify(secret: string, timestamp: number, body: string, signature: string, nowS: number, toleranceS = 300): boolean {
  if (!Number.isFinite(timestamp) || Math.abs(nowS - timestamp) > toleranceS) return false;
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
