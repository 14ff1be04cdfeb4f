import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CpioWriter, S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG } from '../src/guest-images/cpio-newc.js';
import { buildInitramfs, GUEST_PROMPT } from '../src/guest-images/initramfs.js';

interface Parsed {
  name: string;
  ino: number;
  mode: number;
  nlink: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Uint8Array;
}

/** An independent reader, following buffer-format.rst field by field. */
function parseNewc(archive: Uint8Array): Parsed[] {
  const text = new TextDecoder();
  const out: Parsed[] = [];
  let at = 0;
  for (;;) {
    const header = text.decode(archive.subarray(at, at + 110));
    expect(header.slice(0, 6)).toBe('070701');
    const field = (i: number) => parseInt(header.slice(6 + i * 8, 14 + i * 8), 16);
    const nameSize = field(11);
    const fileSize = field(6);
    const name = text.decode(archive.subarray(at + 110, at + 110 + nameSize - 1));
    expect(archive[at + 110 + nameSize - 1]).toBe(0);
    let dataAt = at + 110 + nameSize;
    dataAt += (4 - (dataAt % 4)) % 4;
    const data = archive.slice(dataAt, dataAt + fileSize);
    out.push({ name, ino: field(0), mode: field(1), nlink: field(4), rdevMajor: field(9), rdevMinor: field(10), data });
    at = dataAt + fileSize;
    at += (4 - (at % 4)) % 4;
    if (name === 'TRAILER!!!') break;
  }
  expect(at).toBe(archive.length);
  return out;
}

describe('newc cpio writer', () => {
  it('writes directories, files, symlinks and device nodes that read back field by field', () => {
    const data = new TextEncoder().encode('hello, initramfs\n');
    const archive = new CpioWriter()
      .add({ kind: 'dir', path: 'etc' })
      .add({ kind: 'file', path: 'etc/motd', data, mode: 0o600 })
      .add({ kind: 'symlink', path: 'init', target: '/bin/busybox' })
      .add({ kind: 'chardev', path: 'console', major: 5, minor: 1 })
      .finish();
    const entries = parseNewc(archive);
    expect(entries.map((e) => e.name)).toEqual(['etc', 'etc/motd', 'init', 'console', 'TRAILER!!!']);
    expect(entries[0].mode).toBe(S_IFDIR | 0o755);
    expect(entries[0].nlink).toBe(2);
    expect(entries[1].mode).toBe(S_IFREG | 0o600);
    expect(new TextDecoder().decode(entries[1].data)).toBe('hello, initramfs\n');
    expect(entries[2].mode).toBe(S_IFLNK | 0o777);
    expect(new TextDecoder().decode(entries[2].data)).toBe('/bin/busybox');
    expect(entries[3].mode).toBe(S_IFCHR | 0o600);
    expect([entries[3].rdevMajor, entries[3].rdevMinor]).toEqual([5, 1]);
    expect(new Set(entries.slice(0, 4).map((e) => e.ino)).size).toBe(4);
  });

  it('pads every header+name and every data block to four bytes for all name and data lengths', () => {
    for (let n = 1; n <= 8; n++) {
      const w = new CpioWriter();
      for (let len = 0; len <= 5; len++) w.add({ kind: 'file', path: 'f'.repeat(n) + len, data: new Uint8Array(len).fill(0x41 + len) });
      const entries = parseNewc(w.finish());
      for (let len = 0; len <= 5; len++) expect(entries[len].data).toEqual(new Uint8Array(len).fill(0x41 + len));
    }
  });

  it('refuses absolute, empty and dot-dot paths, and adding after finish', () => {
    const w = new CpioWriter();
    expect(() => w.add({ kind: 'dir', path: '/etc' })).toThrow(/bad entry path/);
    expect(() => w.add({ kind: 'dir', path: 'a/../b' })).toThrow(/bad entry path/);
    expect(() => w.add({ kind: 'dir', path: '' })).toThrow(/bad entry path/);
    expect(() => w.add({ kind: 'chardev', path: 'x', major: -1, minor: 0 })).toThrow(/does not fit/);
    w.finish();
    expect(() => w.add({ kind: 'dir', path: 'etc' })).toThrow(/already finished/);
  });

  it('is reproducible: the same input gives the same bytes (mtime 0, inodes in order)', () => {
    const make = () => new CpioWriter().add({ kind: 'file', path: 'a', data: new Uint8Array([1, 2, 3]) }).finish();
    expect(make()).toEqual(make());
  });
});

describe('busybox initramfs', () => {
  it('holds busybox as /init, the console nodes, an inittab with a shell and the prompt profile', () => {
    const fakeBusybox = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3]);
    const entries = parseNewc(new Uint8Array(gunzipSync(buildInitramfs(fakeBusybox))));
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('bin/busybox')!.data).toEqual(fakeBusybox);
    expect(byName.get('bin/busybox')!.mode).toBe(S_IFREG | 0o755);
    expect(new TextDecoder().decode(byName.get('init')!.data)).toBe('/bin/busybox');
    expect([byName.get('dev/console')!.rdevMajor, byName.get('dev/console')!.rdevMinor]).toEqual([5, 1]);
    expect(new TextDecoder().decode(byName.get('etc/inittab')!.data)).toMatch(/::respawn:.*\/bin\/sh/);
    expect(new TextDecoder().decode(byName.get('etc/profile')!.data)).toContain(`PS1='${GUEST_PROMPT}'`);
  });
});
