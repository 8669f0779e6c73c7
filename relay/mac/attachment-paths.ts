// Where the relay may read an incoming attachment's bytes (issue 8 §6): only regular files whose path is
// under one of `attachments.roots` (default: the folder holding chat.db, ~/Library/Messages), with no
// symbolic link on the way below the root. The relay holds Full Disk Access; chat.db's path is not trusted.
import { closeSync, constants as fsc, fstatSync, lstatSync, openSync, realpathSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import type { AttachmentRefusal } from '../model/files.js';

/** An attachment's file, open for reading (the caller closes `fd`). */
export interface OpenedAttachment { readonly ok: true; readonly fd: number; readonly size: number }

/** Why it was not opened: a refusal (final), `absent` (not there yet) or `unreadable` (an error). */
export interface RefusedAttachment {
  readonly ok: false;
  readonly status: AttachmentRefusal | 'absent' | 'unreadable';
  /** For the hub and the logs: never contains the path. */
  readonly reason: string;
}

const FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK | (fsc.O_NOCTTY ?? 0);

const refuse = (status: RefusedAttachment['status'], reason: string): RefusedAttachment => ({ ok: false, status, reason });
const errno = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? 'error';

/** The roots an attachment may live under, made absolute. */
export class AttachmentRoots {
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => resolve(r));
  }

  /** The root `path` is lexically under (it must be absolute and normal: no `.`, `..` or `//`), or null. */
  private rootOf(path: string): string | null {
    if (!isAbsolute(path) || normalize(path) !== path || path.endsWith(sep)) return null;
    return this.roots.find((r) => path.startsWith(r.endsWith(sep) ? r : r + sep)) ?? null;
  }

  /**
   * Opens an attachment's file for reading, or says why not. Checks, in an order that leaves no gap
   * to swap a link in: the path is under a root; it is not a link (lstat, then O_NOFOLLOW); it is a
   * regular file (lstat before opening, so a FIFO or device is never opened; fstat of the open fd);
   * the real path of its folder is the folder itself below the root's real path (no link in between);
   * and the file there is the one that was opened (same device and inode).
   */
  open(path: string): OpenedAttachment | RefusedAttachment {
    const root = this.rootOf(path);
    if (root === null) return refuse('outside_root', 'its path is not under attachments.roots');
    let before: Stats;
    try {
      before = lstatSync(path);
    } catch (err) {
      return errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR' ? refuse('absent', 'the file is not there') : refuse('unreadable', `${errno(err)}: the file cannot be read (Full Disk Access?)`);
    }
    if (before.isSymbolicLink()) return refuse('symlink', 'the file is a symbolic link');
    if (!before.isFile()) return refuse('not_regular', 'not a regular file');
    let fd: number;
    try {
      fd = openSync(path, FLAGS);
    } catch (err) {
      if (errno(err) === 'ELOOP') return refuse('symlink', 'the file is a symbolic link');
      if (errno(err) === 'ENOENT') return refuse('absent', 'the file is not there');
      return refuse('unreadable', `${errno(err)}: the file cannot be read (Full Disk Access?)`);
    }
    const verdict = this.verify(fd, path, root);
    if (verdict !== null) { closeSync(fd); return verdict; }
    return { ok: true, fd, size: fstatSync(fd).size };
  }

  private verify(fd: number, path: string, root: string): RefusedAttachment | null {
    try {
      const opened = fstatSync(fd);
      if (!opened.isFile()) return refuse('not_regular', 'not a regular file');
      const realRoot = realpathSync(root);
      const realDir = realpathSync(dirname(path));
      if (realDir !== realRoot + dirname(path).slice(root.length)) return refuse('symlink', 'a folder on its path is a symbolic link');
      const there = lstatSync(join(realDir, basename(path)));
      // Replaced between open and here (Messages renaming its download into place, or a swap): look again later.
      if (there.dev !== opened.dev || there.ino !== opened.ino) return refuse('absent', 'the file changed while it was opened');
      return null;
    } catch (err) {
      return errno(err) === 'ENOENT' ? refuse('absent', 'the file is not there') : refuse('unreadable', `${errno(err)}: the file cannot be read`);
    }
  }
}
