// `imessage-relay keygen --out <file>`: a new X25519 key pair; the secret key goes to <file> with
// mode 0600, the public key (to pin on the other side) and its fingerprint are printed.
import { parseArgs } from 'node:util';
import { fingerprint, writeNewKeyFile } from '../link/keys.js';
import { UsageError, type CliIo } from './io.js';

export const KEYGEN_USAGE = `imessage-relay keygen --out <file> [--json]
  Writes a new long-term key to <file> (mode 0600, never overwritten) and prints its public key.
  Put the public key in the other side's config: the hub's "relays" list, or the Mac's "hub.publicKey".`;

export async function keygenCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { out: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  if (values.out === undefined) throw new UsageError('--out <file> is required');
  const kp = writeNewKeyFile(values.out);
  const publicKey = Buffer.from(kp.publicKey).toString('base64');
  if (values.json === true) io.stdout(`${JSON.stringify({ file: values.out, publicKey, fingerprint: fingerprint(kp.publicKey) })}\n`);
  else io.stdout(`wrote ${values.out} (mode 0600)\npublic key:  ${publicKey}\nfingerprint: ${fingerprint(kp.publicKey)}\n`);
  return 0;
}
