/**
 * A writer for the "newc" cpio format (SVR4 without CRC, magic 070701), the format the Linux
 * kernel unpacks an initramfs from (Documentation/driver-api/early-userspace/buffer-format.rst).
 *
 * Each entry is a 110-byte ASCII header of thirteen 8-digit hex fields, the NUL-terminated
 * name padded to a multiple of four bytes (counting the header), then the data padded to four.
 * The archive ends with an entry named TRAILER!!!. We write the archive in memory: an
 * initramfs of busybox and a few scripts is a few MiB.
 */

/** File type bits of st_mode (octal, as in <sys/stat.h>). */
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_IFCHR = 0o020000;

export type CpioEntry =
  | { kind: 'dir'; path: string; mode?: number }
  | { kind: 'file'; path: string; data: Uint8Array; mode?: number }
  | { kind: 'symlink'; path: string; target: string }
  | { kind: 'chardev'; path: string; major: number; minor: number; mode?: number };

const MAGIC = '070701';
const HEADER_LENGTH = 110;
const TRAILER = 'TRAILER!!!';
const MAX_FIELD = 0xffffffff;

function hex8(value: number, what: string): string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_FIELD) throw new RangeError(`cpio: ${what} ${value} does not fit a newc field`);
  return value.toString(16).padStart(8, '0');
}

function pad4(length: number): number {
  return (4 - (length % 4)) % 4;
}

/** Entry paths are relative to the archive root: no leading slash, no '.' or '..' parts. */
function checkPath(path: string): void {
  if (path === '' || path.startsWith('/') || path.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new Error(`cpio: bad entry path '${path}' (relative, no empty, '.' or '..' parts)`);
  }
}

export class CpioWriter {
  private readonly chunks: Uint8Array[] = [];
  private inode = 1;
  private finished = false;
  private readonly encoder = new TextEncoder();

  add(entry: CpioEntry): this {
    if (this.finished) throw new Error('cpio: archive already finished');
    checkPath(entry.path);
    switch (entry.kind) {
      case 'dir':
        return this.write(entry.path, S_IFDIR | (entry.mode ?? 0o755), 2, new Uint8Array(0), 0, 0);
      case 'file':
        return this.write(entry.path, S_IFREG | (entry.mode ?? 0o644), 1, entry.data, 0, 0);
      case 'symlink':
        return this.write(entry.path, S_IFLNK | 0o777, 1, this.encoder.encode(entry.target), 0, 0);
      case 'chardev':
        return this.write(entry.path, S_IFCHR | (entry.mode ?? 0o600), 1, new Uint8Array(0), entry.major, entry.minor);
    }
  }

  /** Appends the trailer and returns the whole archive. */
  finish(): Uint8Array {
    if (!this.finished) {
      this.write(TRAILER, 0, 1, new Uint8Array(0), 0, 0, 0);
      this.finished = true;
    }
    const total = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  private write(name: string, mode: number, nlink: number, data: Uint8Array, rdevMajor: number, rdevMinor: number, ino = this.inode++): this {
    const nameBytes = this.encoder.encode(`${name}\0`);
    const fields = [
      MAGIC,
      hex8(ino, 'inode'), hex8(mode, 'mode'), hex8(0, 'uid'), hex8(0, 'gid'), hex8(nlink, 'nlink'),
      hex8(0, 'mtime'), hex8(data.length, 'file size'), hex8(0, 'dev major'), hex8(0, 'dev minor'),
      hex8(rdevMajor, 'rdev major'), hex8(rdevMinor, 'rdev minor'), hex8(nameBytes.length, 'name size'), hex8(0, 'check'),
    ].join('');
    const header = this.encoder.encode(fields);
    this.chunks.push(header, nameBytes, new Uint8Array(pad4(HEADER_LENGTH + nameBytes.length)));
    if (data.length > 0) this.chunks.push(data, new Uint8Array(pad4(data.length)));
    return this;
  }
}
