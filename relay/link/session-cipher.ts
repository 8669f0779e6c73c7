// Frame sealing (PROTOCOL.md §3): XSalsa20-Poly1305 (nacl.secretbox) with one key per direction
// and a nonce from a counter that both sides keep. Nothing of the nonce travels: a replayed,
// reordered, dropped, truncated or tampered frame fails to open, and the channel closes.
import nacl from 'tweetnacl';

const NONCE_BYTES = nacl.secretbox.nonceLength;
export const SEAL_OVERHEAD = nacl.secretbox.overheadLength;

function nonce(counter: number): Uint8Array {
  const n = new Uint8Array(NONCE_BYTES);
  let c = counter;
  for (let i = 0; i < 8; i++) {
    n[NONCE_BYTES - 8 + i] = c % 256;
    c = Math.floor(c / 256);
  }
  return n;
}

/** Seals outgoing frames with the send key and opens incoming ones with the receive key. */
export class SessionCipher {
  private sendCounter = 0;
  private recvCounter = 0;

  constructor(private readonly sendKey: Uint8Array, private readonly recvKey: Uint8Array) {}

  seal(plain: Uint8Array): Uint8Array {
    if (this.sendCounter >= Number.MAX_SAFE_INTEGER) throw new Error('nonce counter exhausted');
    return nacl.secretbox(plain, nonce(this.sendCounter++), this.sendKey);
  }

  /** The plaintext, or null when the frame is not the next one this key sealed (then close). */
  open(sealed: Uint8Array): Uint8Array | null {
    const plain = nacl.secretbox.open(sealed, nonce(this.recvCounter), this.recvKey);
    if (plain === null) return null;
    this.recvCounter++;
    return plain;
  }
}
