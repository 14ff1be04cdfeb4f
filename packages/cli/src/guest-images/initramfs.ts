/**
 * The busybox initramfs for the Linux guests: busybox as /init (busybox init reads
 * /etc/inittab), a shell on the console with a fixed prompt the tests wait for, and /dev
 * nodes for the console so early output is not lost before devtmpfs is mounted. busybox's
 * init handles `poweroff` and `reboot` (it runs the shutdown actions, then calls reboot(2)).
 */
import { gzipSync } from 'node:zlib';
import { CpioWriter } from './cpio-newc.js';

/** The shell prompt of the guest's root shell (tests wait for it). */
export const GUEST_PROMPT = 'tsemu# ';
/** Printed by rcS once the system is up: a marker for boot timing. */
export const GUEST_READY_LINE = 'tsemu initramfs: ready';

const INITTAB = `::sysinit:/etc/init.d/rcS
::respawn:/bin/cttyhack /bin/sh -l
::ctrlaltdel:/bin/reboot
::shutdown:/bin/umount -a -r
`;

const RCS = `#!/bin/sh
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "${GUEST_READY_LINE}"
`;

const PROFILE = `export PS1='${GUEST_PROMPT}'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
`;

const encoder = new TextEncoder();

/** A gzip'd newc cpio holding `busybox` (a static i386 binary) and the files above. */
export function buildInitramfs(busybox: Uint8Array): Uint8Array {
  const w = new CpioWriter();
  for (const d of ['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'root', 'etc', 'etc/init.d']) {
    w.add({ kind: 'dir', path: d });
  }
  w.add({ kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
  w.add({ kind: 'chardev', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  w.add({ kind: 'chardev', path: 'dev/ttyS0', major: 4, minor: 64 });
  w.add({ kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  // The applets init needs before rcS installs the rest.
  for (const applet of ['bin/sh', 'bin/cttyhack', 'bin/mount', 'bin/umount', 'bin/reboot', 'sbin/init']) {
    w.add({ kind: 'symlink', path: applet, target: '/bin/busybox' });
  }
  w.add({ kind: 'symlink', path: 'init', target: '/bin/busybox' });
  w.add({ kind: 'file', path: 'etc/inittab', data: encoder.encode(INITTAB) });
  w.add({ kind: 'file', path: 'etc/init.d/rcS', data: encoder.encode(RCS), mode: 0o755 });
  w.add({ kind: 'file', path: 'etc/profile', data: encoder.encode(PROFILE) });
  return gzipSync(w.finish(), { level: 9 });
}
