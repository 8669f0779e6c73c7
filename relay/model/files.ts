// Files that cross the link (PROTOCOL.md §5): both directions cut them into chunks of the same size
// and check the whole with SHA-256. A file's name is made safe before it touches any file system.

/** Raw bytes per chunk (base64 on the wire: about 350 KB of JSON per chunk). */
export const FILE_CHUNK_BYTES = 256 * 1024;

/** Default cap on one file, both ways (messages-app.md §4.3: Messages has none; we pick one). */
export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;

/** A file a send command carries (hub → Mac), as the command body names it. */
export interface FileRef {
  /** The hub's upload id (a UUID). */
  readonly id: string;
  readonly name: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly mime_type: string | null;
  readonly chunks: number;
}

/** What became of an incoming attachment's bytes (the `file` outbox item and GET /v1/attachments). */
export type IncomingFileStatus = 'complete' | 'too_large' | 'missing' | 'unreadable' | 'disabled' | AttachmentRefusal;

/**
 * Why the relay refused to read an attachment's file (README "Incoming files"): its path is not under
 * `attachments.roots`, a symbolic link lies on the way below the root, or it is not a regular file.
 */
export type AttachmentRefusal = 'outside_root' | 'symlink' | 'not_regular';

export const chunkCount = (bytes: number): number => Math.ceil(bytes / FILE_CHUNK_BYTES);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (s: unknown): s is string => typeof s === 'string' && UUID.test(s);
export const isSha256Hex = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);

/**
 * A file name safe to create anywhere and still recognisable to the recipient: the last path segment,
 * without control characters, slashes, backslashes, colons or leading dots, and without bidirectional
 * controls (U+202A–202E, U+2066–2069, U+200E/F, U+061C: they make `exe.jpg` look like `gpj.exe`), at
 * most 200 UTF-8 bytes (extension kept). Empty results become `file`.
 */
export function safeFileName(name: string): string {
  const last = name.replace(/\p{Bidi_Control}/gu, '').split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  let clean = last.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f:]/g, '_').replace(/^[.\s]+/, '').trim();
  if (clean === '') return 'file';
  const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');
  if (bytes(clean) > 200) {
    const dot = clean.lastIndexOf('.');
    const ext = dot > 0 && clean.length - dot <= 16 ? clean.slice(dot) : '';
    let stem = [...clean.slice(0, clean.length - ext.length)];
    while (bytes(stem.join('') + ext) > 200) stem = stem.slice(0, -1);
    clean = stem.join('') + ext;
  }
  return clean;
}
