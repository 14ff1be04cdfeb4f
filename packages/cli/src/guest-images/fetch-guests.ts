/**
 * `npm run guests`: builds the Linux guest images from Debian's own packages into a cache
 * directory: the 686 and 686-pae kernels (linux-image-686, linux-image-686-pae) and a busybox
 * initramfs (busybox-static:i386) written by our cpio writer. No binary is committed; a run
 * with everything already cached does nothing. The cache is $TSEMU_GUEST_DIR, else
 * $XDG_CACHE_HOME/tsemu/guests, else ~/.cache/tsemu/guests.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DebianArchive, GuestFetchError } from './debian-archive.js';
import { buildInitramfs } from './initramfs.js';

export interface GuestManifest {
  version: 1;
  kernels: Record<'686' | '686-pae', { package: string; version: string; file: string; sha256: string }>;
  initramfs: { busybox: string; file: string; sha256: string };
}

export const MANIFEST_FILE = 'manifest.json';

export function guestCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSEMU_GUEST_DIR) return env.TSEMU_GUEST_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tsemu', 'guests');
}

/** The manifest of a complete cache, or null when something is missing. */
export function readGuestManifest(dir = guestCacheDir()): GuestManifest | null {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return null;
  const m = JSON.parse(readFileSync(path, 'utf8')) as GuestManifest;
  const files = [m.kernels['686'].file, m.kernels['686-pae'].file, m.initramfs.file];
  return files.every((f) => existsSync(join(dir, f))) ? m : null;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

function fetchKernel(apt: DebianArchive, flavour: '686' | '686-pae', dir: string, scratch: string) {
  const meta = `linux-image-${flavour}`;
  const pkg = apt.firstDependency(meta);
  const version = apt.candidate(pkg);
  const unpacked = join(scratch, pkg);
  DebianArchive.extract(apt.download(pkg), unpacked);
  const boot = join(unpacked, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new GuestFetchError(`${pkg} holds no boot/vmlinuz-*`);
  const file = `vmlinuz-${flavour}`;
  copyFileSync(join(boot, vmlinuz), join(dir, file));
  return { package: pkg, version, file, sha256: sha256(readFileSync(join(dir, file))) };
}

export function fetchGuests(dir = guestCacheDir(), log: (line: string) => void = console.log): GuestManifest {
  const existing = readGuestManifest(dir);
  if (existing) {
    log(`guest images already in ${dir}`);
    return existing;
  }
  const apt = new DebianArchive(join(dir, 'apt'));
  log('apt-get update (i386 lists, private state)');
  apt.update();
  const scratch = mkdtempSync(join(dir, 'unpack-'));
  try {
    const kernels = {
      '686': fetchKernel(apt, '686', dir, scratch),
      '686-pae': fetchKernel(apt, '686-pae', dir, scratch),
    };
    log(`kernels: ${kernels['686'].package} ${kernels['686'].version}, ${kernels['686-pae'].package}`);
    const bbDir = join(scratch, 'busybox');
    DebianArchive.extract(apt.download('busybox-static'), bbDir);
    const initrd = buildInitramfs(new Uint8Array(readFileSync(join(bbDir, 'bin', 'busybox'))));
    writeFileSync(join(dir, 'initramfs.cpio.gz'), initrd);
    const manifest: GuestManifest = {
      version: 1,
      kernels,
      initramfs: { busybox: apt.candidate('busybox-static'), file: 'initramfs.cpio.gz', sha256: sha256(initrd) },
    };
    writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    log(`initramfs: ${initrd.length} bytes; manifest in ${join(dir, MANIFEST_FILE)}`);
    return manifest;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    rmSync(join(dir, 'apt', 'debs'), { recursive: true, force: true });
  }
}
