/**
 * What the Linux boot benchmarks share (linux-boot.ts for tsemu, linux-boot-peers.ts for QEMU
 * and v86): the guest images from `npm run guests`, and the conversation held on the guest's
 * serial console: wait for the shell prompt, ask for /proc/uptime, power off.
 */
import { join } from 'node:path';
import { GUEST_PROMPT, guestCacheDir, readGuestManifest } from '@tsemu/cli';

export interface LinuxGuestImages {
  kernel: string;
  initrd: string;
  /** "kernel <package> <version>, busybox initramfs", for the output. */
  description: string;
}

/** The 686 kernel and the initramfs, or why the benchmark is skipped. */
export function linuxGuestImages(): LinuxGuestImages | string {
  const dir = guestCacheDir();
  const manifest = readGuestManifest(dir);
  if (manifest === null) return `skipped: no guest images in ${dir} (npm run guests)`;
  const k = manifest.kernels['686'];
  return {
    kernel: join(dir, k.file),
    initrd: join(dir, manifest.initramfs.file),
    description: `kernel ${k.package} ${k.version}, busybox initramfs`,
  };
}

/** Two numbers, as /proc/uptime prints them; the echoed command line does not match. */
const UPTIME_LINE = /^(\d+\.\d+) \d+\.\d+/m;

/**
 * The conversation held on the guest's serial console: wait for the prompt, ask for the
 * uptime, power off. `feed` takes console output and says what to type next (or nothing).
 */
export class PromptDialogue {
  promptMs = -1;
  guestUptime = -1;
  poweredOff = false;
  private out = '';

  constructor(private readonly started: bigint) {}

  feed(text: string): string | null {
    this.out += text;
    if (this.promptMs < 0) {
      if (!this.out.includes(GUEST_PROMPT)) {
        // Keep only a tail long enough to hold a prompt split across chunks.
        if (this.out.length > 4096) this.out = this.out.slice(-64);
        return null;
      }
      this.promptMs = Number(process.hrtime.bigint() - this.started) / 1e6;
      this.out = '';
      return 'cat /proc/uptime\r';
    }
    if (this.guestUptime < 0) {
      const m = UPTIME_LINE.exec(this.out);
      if (m === null) return null;
      this.guestUptime = Number(m[1]);
      this.out = '';
      return 'poweroff\r';
    }
    // Linux's last line: "reboot: Power down" (ACPI) or "reboot: System halted".
    if (!this.poweredOff && /reboot: /.test(this.out)) this.poweredOff = true;
    if (this.out.length > 4096) this.out = this.out.slice(-64);
    return null;
  }

  get done(): boolean {
    return this.promptMs >= 0 && this.guestUptime >= 0;
  }
}
