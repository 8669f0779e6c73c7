// Webhook signatures, in the hook's format. `relay`: HMAC-SHA256 over "<timestamp>.<body>", sent as
// `X-Relay-Signature: v1=<hex>` with `X-Relay-Timestamp: <unix seconds>`. `standard` (Standard
// Webhooks): HMAC-SHA256 over "<id>.<timestamp>.<body>" keyed by the whsec_ secret's bytes.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { standardWebhookKey, type WebhookFormat } from '../config/hub-config.js';
import { ConfigCode } from '../config/validate.js';
import { RelayError } from '../errors.js';

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

/** A Standard Webhooks signature: `v1,` and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>". */
export function signStandard(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** One delivery to sign: its id (the same on every attempt), the time of sending and the exact body. */
export interface SignedDelivery {
  readonly id: string;
  readonly timestamp: number;
  readonly body: string;
}

/** The signature headers of one delivery (lower-case names). */
export type Signer = (d: SignedDelivery) => Record<string, string>;

/**
 * The signer of a hook's format.
 * @throws RelayError CONFIG_INVALID for a `standard` hook whose secret is not a whsec_ secret
 */
export function webhookSigner(format: WebhookFormat, secret: string): Signer {
  if (format === 'standard') {
    const key = standardWebhookKey(secret);
    if (key === null) throw new RelayError(ConfigCode.Invalid, 'a Standard Webhooks hook needs a "whsec_" secret of 24 to 64 base64 bytes');
    return ({ id, timestamp, body }) => ({ 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signStandard(key, id, timestamp, body) });
  }
  return ({ timestamp, body }) => ({ 'x-relay-timestamp': String(timestamp), 'x-relay-signature': sign(secret, timestamp, body) });
}
