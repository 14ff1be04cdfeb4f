/**
 * A small protected-mode machine for the protected-* tests: 2 MiB of RAM, a GDT at 0x1000,
 * an IDT at 0x2000, a 32-bit TSS at 0x3000, and real-mode boot code at 0x7c00 that loads
 * GDTR/IDTR, sets CR0.PE, far-jumps to 32-bit code at 0x7c20 and loads DS/ES/SS (ESP 0x9000).
 * Test code follows the boot code; handlers are placed with `place`.
 */
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';

export const GDT = 0x1000;
export const IDT = 0x2000;
export const TSS = 0x3000;
export const SEL = {
  CODE0: 0x08, DATA0: 0x10, CODE3: 0x18 | 3, DATA3: 0x20 | 3, TSS: 0x28, CODE16: 0x30, ABSENT: 0x38, GATE: 0x40 | 3,
  CONFORMING: 0x48,
} as const;
export const PROTECTED_ENTRY = 0x7c20;
export const STACK0 = 0x9000;
export const KERNEL_STACK = 0xa000;

/** Writes an 8-byte code/data descriptor: `access` is byte 5 (P DPL S type), `flags` the G/D nibble. */
export function segmentDescriptor(memory: GuestMemory, at: number, base: number, limit: number, access: number, flags: number): void {
  memory.write32(at, ((base & 0xffff) << 16) | (limit & 0xffff));
  memory.write32(at + 4, (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | (access << 8) | ((base >>> 16) & 0xff));
}

/** Writes a gate: `type` 0xE interrupt, 0xF trap, 0xC call gate; present unless told. */
export function gate(memory: GuestMemory, at: number, selector: number, offset: number, type: number, dpl: number, params = 0, present = true): void {
  memory.write32(at, ((selector & 0xffff) << 16) | (offset & 0xffff));
  memory.write32(at + 4, (offset & 0xffff0000) | (present ? 0x8000 : 0) | (dpl << 13) | (type << 8) | params);
}

export function idtGate(memory: GuestMemory, vector: number, offset: number, dpl = 0, type = 0xe, present = true): void {
  gate(memory, IDT + vector * 8, SEL.CODE0, offset, type, dpl, 0, present);
}

const BOOT_REAL = [
  0x0f, 0x01, 0x16, 0x00, 0x0f, //       lgdt [0x0f00]
  0x0f, 0x01, 0x1e, 0x08, 0x0f, //       lidt [0x0f08]
  0x0f, 0x20, 0xc0, //                   mov eax, cr0
  0x0c, 0x01, //                         or al, 1
  0x0f, 0x22, 0xc0, //                   mov cr0, eax
  0x66, 0xea, 0x20, 0x7c, 0x00, 0x00, 0x08, 0x00, // jmp dword 0x08:0x7c20
  0x90, 0x90, 0x90, 0x90, 0x90, 0x90, // pad to 0x7c20
];
const BOOT_32 = [
  0x66, 0xb8, 0x10, 0x00, //             mov ax, 0x10
  0x8e, 0xd8, //                         mov ds, ax
  0x8e, 0xc0, //                         mov es, ax
  0x8e, 0xd0, //                         mov ss, ax
  0xbc, 0x00, 0x90, 0x00, 0x00, //       mov esp, 0x9000
];
/** Where the test's own 32-bit code starts. */
export const TEST_CODE = 0x7c00 + BOOT_REAL.length + BOOT_32.length;

/** Code that drops to CPL 3 at `userEip` with ESP 0x9800 through IRETD (after LTR). */
export function toUser(userEip: number): number[] {
  return [
    0x66, 0xb8, 0x28, 0x00, //           mov ax, 0x28
    0x0f, 0x00, 0xd8, //                 ltr ax
    0x6a, 0x23, //                       push 0x23          (SS)
    0x68, 0x00, 0x98, 0x00, 0x00, //     push 0x9800        (ESP)
    0x9c, //                             pushfd
    0x6a, 0x1b, //                       push 0x1b          (CS)
    0x68, ...le32(userEip), //           push userEip
    0xcf, //                             iretd
  ];
}

export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export function protectedMachine(code: number[]) {
  const memory = new GuestMemory(createSharedRamBacking(0x200000), [{ gpa: 0, size: 0x200000, offset: 0 }]);
  const mmu = new Mmu(memory, createPortBus());
  const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
  segmentDescriptor(memory, GDT + 0x08, 0, 0xfffff, 0x9a, 0xc);
  segmentDescriptor(memory, GDT + 0x10, 0, 0xfffff, 0x92, 0xc);
  segmentDescriptor(memory, GDT + 0x18, 0, 0xfffff, 0xfa, 0xc);
  segmentDescriptor(memory, GDT + 0x20, 0, 0xfffff, 0xf2, 0xc);
  segmentDescriptor(memory, GDT + 0x28, TSS, 0x67, 0x89, 0);
  segmentDescriptor(memory, GDT + 0x30, 0, 0xffff, 0x9a, 0);
  segmentDescriptor(memory, GDT + 0x38, 0, 0xffff, 0x12, 0); // data, not present
  segmentDescriptor(memory, GDT + 0x48, 0, 0xfffff, 0x9e, 0xc); // conforming code, DPL 0
  memory.write16(0x0f00, 0x4f); // GDT limit: 10 entries
  memory.write32(0x0f02, GDT);
  memory.write16(0x0f08, 0x7ff);
  memory.write32(0x0f0a, IDT);
  memory.write32(TSS + 4, KERNEL_STACK); // ESP0
  memory.write32(TSS + 8, SEL.DATA0); // SS0
  memory.writeBytes(0x7c00, Uint8Array.from([...BOOT_REAL, ...BOOT_32, ...code]));
  const s = resetCpuState();
  s.cs = { ...s.cs, selector: 0, base: 0n };
  s.rip = 0x7c00n;
  s.gpr[4] = 0x7000n;
  cpu.regs.load(s);
  return { cpu, memory, mmu };
}

/** Places code bytes at `at`. */
export function place(memory: GuestMemory, at: number, code: number[]): void {
  memory.writeBytes(at, Uint8Array.from(code));
}
