// The system-architecture guests (test/guests/sys-*.asm) booted by the real `tsemu` command:
// mode switches, faults with error codes, page faults, hardware task switches and
// virtual-8086 mode. Each prints the same lines under every accelerator that can run it; the
// expected lines were confirmed with qemu-system-i386 7.2 (-accel tcg), except where a
// comment in the guest says QEMU differs from a real CPU.
//
// This host's KVM is PVM, which emulates guest CPL 0 code in the host kernel. Measured here
// (see each guest's header): sys-modes and sys-faults run under KVM with the same output;
// sys-pagefault gets #GP(0) from the MOV CR0 that sets PG in 32-bit protected mode (and hangs
// without an IDT); sys-task stops with KVM_EXIT_INTERNAL_ERROR (emulation failure) at the far
// JMP to a TSS; sys-v86 stops the same way at the IRETD that enters virtual-8086 mode. Those
// three run under tcg only, and the KVM block prints the reason instead of hiding them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assemble, nasmAvailable, requireTool, SHARED_GUESTS_DIR } from '../support/nasm.js';
import { kvmUsable, runTsemu } from '../support/tsemu-process.js';

const haveNasm = requireTool('nasm', nasmAvailable());
const dir = mkdtempSync(join(tmpdir(), 'tsemu-sys-guests-'));
const guest = (name: string) => join(dir, `${name}.bin`);
const DEBUG_EXIT = ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x4'];

interface SysGuest {
  name: string;
  lines: string[];
  exit: number;
  /** Why this host's KVM cannot run it (measured), or null when it runs under KVM too. */
  kvmGap: string | null;
}

const GUESTS: SysGuest[] = [
  {
    name: 'sys-modes',
    lines: [
      'leaving protected mode',
      'in real mode',
      'back in protected mode: real-mode store 0x00005678 at 0x00009010, CR0 in real mode 0x00000010',
      'modes done',
    ],
    exit: 0x23,
    kvmGap: null,
  },
  {
    name: 'sys-faults',
    lines: [
      'GP past GDT limit vector=13 err=0x00000080',
      'GP execute-only DS vector=13 err=0x00000058',
      'GP null FS vector=13 err=0x00000000',
      'NP absent ES vector=11 err=0x00000038',
      'SS absent SS vector=12 err=0x00000038',
      'faults done',
    ],
    exit: 0x20,
    kvmGap: null,
  },
  {
    name: 'sys-pagefault',
    lines: [
      'PF not present vector=14 err=0x00000000 cr2=0x00700000',
      'PF read-only write vector=14 err=0x00000003 cr2=0x00701004',
      'paging done',
    ],
    exit: 0x21,
    kvmGap: 'PVM raises #GP(0) on the MOV CR0 that sets PG from 32-bit protected mode',
  },
  {
    name: 'sys-task',
    lines: [
      'TS small TSS vector=10 err=0x00000040',
      'task B via JMP: TR=0x00000030 NT=0x00000000',
      'back in task A: TR=0x00000028 marker=0x00000001',
      'task B via task gate: NT=0x00000001 link=0x00000028',
      'back in task A after IRET: TR=0x00000028 NT=0x00000000 TS=0x00000008',
      'tasks done',
    ],
    exit: 0x22,
    kvmGap: 'PVM stops with KVM_EXIT_INTERNAL_ERROR (emulation failure) at the far JMP to a TSS',
  },
  {
    name: 'sys-v86',
    lines: [
      'v86 #GP err=0x00000000 at 0x00000800:0x0000000a opcode=0xfa VM=1 frame DS=0x00000900 DS=0x00000000',
      'v86 #GP err=0x00000000 at 0x00000800:0x0000000b opcode=0xcd VM=1 frame DS=0x00000900 DS=0x00000000',
      'v86 #GP err=0x00000000 at 0x00000800:0x0000000d opcode=0xe4 VM=1 frame DS=0x00000900 DS=0x00000000',
      'v86 #GP err=0x00000000 at 0x00000800:0x0000000f opcode=0xf4 VM=1 frame DS=0x00000900 DS=0x00000000',
      'v86 store 0x00001234 at 0x00009100',
      'v86 done',
    ],
    exit: 0x24,
    kvmGap: 'PVM stops with KVM_EXIT_INTERNAL_ERROR (emulation failure) at the IRETD entering virtual-8086 mode',
  },
];

const ACCELERATORS = [
  { accel: 'tcg', usable: haveNasm },
  { accel: 'kvm', usable: haveNasm && kvmUsable() },
];

beforeAll(async () => {
  if (!haveNasm) return;
  for (const g of GUESTS) writeFileSync(guest(g.name), await assemble(join(SHARED_GUESTS_DIR, `${g.name}.asm`)));
});

describe.each(ACCELERATORS.filter((a) => a.usable))('system guests under --accel=$accel', ({ accel }) => {
  const runnable = GUESTS.filter((g) => accel === 'tcg' || g.kvmGap === null);
  it.each(runnable.map((g) => [g.name, g] as const))('%s prints the expected lines and exits with its status', async (_name, g) => {
    const r = await runTsemu(['-accel', accel, '-kernel', guest(g.name), ...DEBUG_EXIT]);
    const lines = r.stdout.split(/\r?\n/).filter((l) => l.length > 0);
    expect(lines).toEqual(g.lines);
    expect(r.status).toBe((g.exit << 1) | 1);
  });

  if (accel === 'kvm') {
    it('lists the guests this host KVM cannot run, with the measured reason', () => {
      const gaps = GUESTS.filter((g) => g.kvmGap !== null);
      for (const g of gaps) console.info(`${g.name}: not run under this host's KVM: ${g.kvmGap}`);
      expect(gaps.map((g) => g.name)).toEqual(['sys-pagefault', 'sys-task', 'sys-v86']);
    });
  }
});
