/**
 * Debian's own 32-bit kernels (linux-image-686 and -686-pae, from `npm run guests`) booted under
 * --accel=tcg with nothing on the command line but console=ttyS0, to the busybox shell of the
 * test initramfs: a session on the serial console as a person would have it (uname, /proc, a
 * shell loop, the kernel log), then `poweroff`, which must end tsemu with status 0 through the
 * machine's ACPI power-off.
 *
 * The 686 kernel runs on the interpreter alone (--jit=off, the oracle), the PAE one with the
 * JIT (the default); `npm run test:jit` runs both with every block translated.
 *
 * The images are not in the repository: without them the suite is skipped with the reason
 * printed, and fails under CI=true. The software CPU boots a kernel in minutes, not seconds
 * (the xz decompression alone is some 2.5 billion instructions), hence the long timeouts.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { guestCacheDir, readGuestManifest } from '../../packages/cli/src/guest-images/fetch-guests.js';
import { GuestSession } from '../support/guest-session.js';
import { skipUnless } from '../support/nasm.js';

const PROMPT = 'tsemu# ';
/**
 * Kernel messages that mean the machine failed the kernel somewhere: an oops or warning with its
 * trace, an instruction it could not run, a timer or clocksource it stopped trusting, a stall.
 */
const KERNEL_COMPLAINTS = /Oops|BUG:|WARNING:|Call Trace|invalid opcode|unknown instruction|general protection fault|Marking TSC unstable|clocksource.*unstable|timer doesn't work|not connected to IO-APIC|APIC timer disabled|soft lockup|rcu.*stall/i;
const BOOT_MS = 20 * 60_000;
const COMMAND_MS = 3 * 60_000;

const dir = guestCacheDir();
const manifest = readGuestManifest(dir);
const skip = skipUnless(manifest !== null, `no Linux guest images in ${dir} (npm run guests builds them)`);

let session: GuestSession | null = null;
afterEach(() => {
  session?.kill();
  session = null;
});

describe.skipIf(skip)('Debian i386 Linux under --accel=tcg', () => {
  for (const [flavour, jit] of [['686', 'off'], ['686-pae', 'on']] as const) {
    // With TSEMU_JIT_THRESHOLD set (npm test's last pass, npm run test:jit) both boots run translated code.
    const threshold = process.env.TSEMU_JIT_THRESHOLD;
    const jitFlag = threshold ? 'on' : jit;
    it(`boots ${flavour} (--jit=${jitFlag}${threshold ? `, threshold ${threshold}` : ''}) to the busybox shell, answers commands and powers off with status 0`, async () => {
      const kernel = join(dir, manifest!.kernels[flavour].file);
      const initrd = join(dir, manifest!.initramfs.file);
      const s = new GuestSession(['--accel=tcg', `--jit=${jitFlag}`, '--memory', '256M', '--kernel', kernel, '--initrd', initrd, '--append', 'console=ttyS0']);
      session = s;
      await s.waitFor(PROMPT, BOOT_MS);
      const log = s.output;
      expect(log).toMatch(/Linux version 6\.\d+\.\d+-\d+-686/);
      // The machine as Linux found it: ACPI tables, the I/O APIC, the timer through it.
      expect(log).toContain('ACPI: RSDP 0x00000000000E0000');
      expect(log).toMatch(/IOAPIC\[0\]: apic_id 0, version 32, address 0xfec00000, GSI 0-23/);
      expect(log).toContain('Using 1 I/O APICs');
      expect(log).toMatch(/serial8250: ttyS0 at I\/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A/);

      const release = flavour === '686' ? /-686 / : /-686-pae /;
      const uname = await s.run('uname -a', PROMPT, COMMAND_MS);
      expect(uname).toMatch(/^Linux \S+ 6\.\d+\.\d+-\d+-686/);
      expect(uname).toMatch(release);
      expect(uname).toMatch(/i686/);

      const cpuinfo = await s.run('cat /proc/cpuinfo', PROMPT, COMMAND_MS);
      expect(cpuinfo).toMatch(/^processor\s*: 0$/m);
      expect(cpuinfo).toMatch(/^flags\s*:.* fpu .*\btsc\b.*\bapic\b/m);
      expect(cpuinfo).not.toMatch(/^processor\s*: 1$/m);

      const proc = (await s.run('ls /proc', PROMPT, COMMAND_MS)).split(/\s+/);
      for (const entry of ['1', 'cpuinfo', 'meminfo', 'interrupts', 'uptime']) expect(proc).toContain(entry);

      // Short lines: busybox's line editor wraps past 80 columns, which would garble the echo.
      await s.run('i=0; s=0', PROMPT, COMMAND_MS);
      const sum = await s.run('while [ $i -lt 200 ]; do i=$((i+1)); s=$((s+i*i)); done; echo s=$s', PROMPT, COMMAND_MS);
      expect(sum.trim()).toBe('s=2686700');

      const errors = await s.run('dmesg | grep -i error; echo "grep status $?"', PROMPT, COMMAND_MS);
      expect(errors.trim()).toBe('grep status 1');

      // The whole kernel log: it trusted the TSC to the end, and complained of nothing.
      const dmesg = await s.run('dmesg', PROMPT, COMMAND_MS);
      expect(dmesg).toMatch(/Run \/init as init process/);
      expect(dmesg).toMatch(/clocksource: Switched to clocksource tsc$/m);
      expect(dmesg.split('\n').filter((line) => KERNEL_COMPLAINTS.test(line))).toEqual([]);

      s.type('poweroff');
      const exit = await s.exited;
      expect(exit).toEqual({ status: 0, signal: null });
    }, BOOT_MS + 10 * COMMAND_MS);
  }
});
