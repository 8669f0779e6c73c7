// Pairing lines: what `init` and `tunnel config` print on one machine for the admin to paste on the
// other. `imr1:` + base64url(JSON ‖ 4 bytes of its SHA-256), so a typo or a cut line is caught.
import { createHash } from 'node:crypto';
import { RelayError } from '../errors.js';

export const PairingCode = {
  Invalid: 'PAIRING_INVALID',
  Checksum: 'PAIRING_CHECKSUM',
  Version: 'PAIRING_VERSION',
  WrongSide: 'PAIRING_WRONG_SIDE',
} as const;

/**
 * What each kind of line carries. `key` is always a 32-byte base64 public key (the link's X25519 key,
 * or a WireGuard key).
 * - `hub`: the hub's link key, the URL the Mac dials, the account the Mac will be known as.
 * - `relay`: the Mac's link key and that account, for the hub's `relays` list.
 * - `wg-hub`: the hub's WireGuard key, its endpoint, its tunnel address, the address offered to the Mac.
 * - `wg-mac`: the Mac's WireGuard key and tunnel address, for the hub's [Peer].
 */
export const PAIRING_FIELDS = {
  hub: ['key', 'url', 'account'],
  relay: ['key', 'account'],
  'wg-hub': ['key', 'endpoint', 'address', 'peerAddress'],
  'wg-mac': ['key', 'address'],
} as const;

export type PairingKind = keyof typeof PAIRING_FIELDS;
export type Pairing<K extends PairingKind> = { readonly [F in (typeof PAIRING_FIELDS)[K][number]]: string };

/** Where each kind of line is pasted, for a refusal that says what to do instead. */
const PASTE_WITH: Record<PairingKind, string> = {
  hub: 'imessage-relay init --mac --pair <line> (on the Mac)',
  relay: 'imessage-relay init --hub --add-relay <line> (on the hub)',
  'wg-hub': 'imessage-relay tunnel config --mac --pair <line> (on the Mac)',
  'wg-mac': 'imessage-relay tunnel config --hub --add-peer <line> (on the hub)',
};

const PREFIX = 'imr1:';
const CHECK_BYTES = 4;

function checksum(payload: Buffer): Buffer {
  return createHash('sha256').update(payload).digest().subarray(0, CHECK_BYTES);
}

function isPublicKey(text: string): boolean {
  return /^[A-Za-z0-9+/]{43}=$/.test(text) && Buffer.from(text, 'base64').length === 32;
}

/** Encodes a pairing line (shell-safe: letters, digits, `-`, `_`, `:`). */
export function encodePairing<K extends PairingKind>(kind: K, fields: Pairing<K>): string {
  const body: Record<string, string> = { k: kind };
  for (const f of PAIRING_FIELDS[kind]) body[f] = (fields as Record<string, string>)[f]!;
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  return PREFIX + Buffer.concat([payload, checksum(payload)]).toString('base64url');
}

/**
 * Decodes a line pasted by an admin (white space inside it, from a wrapped terminal line, is ignored).
 * @throws RelayError PAIRING_VERSION (a line from another version), PAIRING_CHECKSUM (a character
 * changed or lost), PAIRING_WRONG_SIDE (a line meant for another command), PAIRING_INVALID (anything else)
 */
export function decodePairing<K extends PairingKind>(line: string, kind: K): Pairing<K> {
  const text = line.replace(/\s+/g, '');
  const version = /^imr(\d+):/.exec(text);
  if (version === null) {
    throw new RelayError(PairingCode.Invalid, 'not a pairing line: it starts with "imr1:" (copy the whole line the other side printed)', { expected: kind });
  }
  if (version[1] !== '1') {
    throw new RelayError(PairingCode.Version, `a pairing line of version ${version[1]}; this imessage-relay reads version 1: use the same version on both sides`, { expected: kind });
  }
  const data = text.slice(PREFIX.length);
  const bytes = Buffer.from(data, 'base64url');
  if (!/^[A-Za-z0-9_-]+$/.test(data) || bytes.toString('base64url') !== data || bytes.length <= CHECK_BYTES) {
    throw new RelayError(PairingCode.Checksum, 'the pairing line is damaged (a character that cannot be in it, or cut short): copy the whole line again', { expected: kind });
  }
  const payload = bytes.subarray(0, bytes.length - CHECK_BYTES);
  if (!checksum(payload).equals(bytes.subarray(bytes.length - CHECK_BYTES))) {
    throw new RelayError(PairingCode.Checksum, 'the pairing line does not match its checksum (a character changed or lost): copy the whole line again', { expected: kind });
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new RelayError(PairingCode.Invalid, 'the pairing line holds no readable content', { expected: kind });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RelayError(PairingCode.Invalid, 'the pairing line holds no readable content', { expected: kind });
  const b = body as Record<string, unknown>;
  const got = b['k'];
  if (got !== kind) {
    const where = typeof got === 'string' && got in PASTE_WITH ? `: it is meant for ${PASTE_WITH[got as PairingKind]}` : '';
    throw new RelayError(PairingCode.WrongSide, `this is not the line this command takes${where}`, { expected: kind, got: typeof got === 'string' ? got : null });
  }
  const fields = PAIRING_FIELDS[kind] as readonly string[];
  const out: Record<string, string> = {};
  for (const k of Object.keys(b)) if (k !== 'k' && !fields.includes(k)) throw new RelayError(PairingCode.Invalid, `the pairing line holds an unknown field "${k}"`, { expected: kind });
  for (const f of fields) {
    const v = b[f];
    if (typeof v !== 'string' || v === '') throw new RelayError(PairingCode.Invalid, `the pairing line lacks "${f}"`, { expected: kind });
    out[f] = v;
  }
  if (!isPublicKey(out['key']!)) throw new RelayError(PairingCode.Invalid, 'the pairing line\'s key is not a 32-byte base64 public key', { expected: kind });
  return out as Pairing<K>;
}
