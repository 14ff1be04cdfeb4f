// The small machine the JIT tests run code on, and a tiny assembler for their 32-bit code.
import { createMmioBus, createPortBus, createSharedRamBacking, flatSegment32, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Jit, type JitBackend } from '../../src/jit/jit.js';

/**
 * A CPU in flat 32-bit protected mode (or real mode) with `code` at 0x1000, an IDT whose
 * handlers (one HLT each, at 0x500 + vector) halt, the stack at 0x8000; `threshold` null runs
 * the interpreter alone.
 */
export function machine(code: number[], threshold: number | null, real = false, onCompile: ((c: { source: string }) => void) | null = null, backend: JitBackend = 'js') {
  const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
  const mmio = createMmioBus();
  const mmu = new Mmu(memory, mmio);
  const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
  cpu.jit = threshold === null ? null : new Jit({ threshold, onCompile, backend });
  memory.writeBytes(0x1000, Uint8Array.from(code));
  for (let v = 0; v < 32; v++) memory.write8(0x500 + v, 0xf4);
  const s = resetCpuState();
  if (real) {
    for (let v = 0; v < 32; v++) memory.write32(v * 4, 0x500 + v);
    s.cs = { ...s.cs, selector: 0, base: 0n };
  } else {
    // GDT at 0x700: null, flat 32-bit code (8), flat data (0x10).
    memory.write32(0x708, 0x0000ffff);
    memory.write32(0x70c, 0x00cf9a00);
    memory.write32(0x710, 0x0000ffff);
    memory.write32(0x714, 0x00cf9200);
    s.gdt = { base: 0x700n, limit: 23 };
    // IDT at 0x600: 32-bit interrupt gates to 0x500 + vector in selector 8.
    for (let v = 0; v < 32; v++) {
      memory.write32(0x600 + v * 8, (8 << 16) | ((0x500 + v) & 0xffff));
      memory.write32(0x600 + v * 8 + 4, 0x8e00);
    }
    s.cs = flatSegment32(8, true);
    for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = flatSegment32(16, false);
    s.cr0 = 1n;
    s.idt = { base: 0x600n, limit: 32 * 8 - 1 };
  }
  s.rip = 0x1000n;
  s.gpr[4] = 0x8000n;
  cpu.regs.load(s);
  mmu.setPagingContext({ cr0: Number(s.cr0), cr3: 0, cr3Hi: 0, cr4: 0, efer: 0 });
  return { cpu, memory, mmio };
}

/** A little-endian dword. */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

/**
 * 32-bit code at 0x1000 from bytes, labels (strings) and references to them: ['jne', l] and
 * ['jmp', l] (rel8), ['call', l] (rel32), ['abs32', l] (the label's address); ['pad', '0x2000']
 * fills with INT3 up to that address.
 */
export function asm32(parts: (number | string | [string, string])[]): number[] {
  const labels = new Map<string, number>();
  const size = (p: number | string | [string, string], at: number): number =>
    typeof p === 'number' ? 1 : typeof p === 'string' ? 0 : p[0] === 'pad' ? Number(p[1]) - at : p[0] === 'jne' || p[0] === 'jmp' ? 2 : p[0] === 'call' ? 5 : 4;
  let at = 0x1000;
  for (const p of parts) {
    if (typeof p === 'string') labels.set(p, at);
    at += size(p, at);
  }
  const out: number[] = [];
  at = 0x1000;
  for (const p of parts) {
    const end = at + size(p, at);
    if (typeof p === 'number') out.push(p);
    else if (typeof p !== 'string' && p[0] === 'pad') out.push(...new Array<number>(end - at).fill(0xcc));
    else if (typeof p !== 'string') {
      const target = labels.get(p[1])!;
      if (p[0] === 'jne' || p[0] === 'jmp') out.push(p[0] === 'jne' ? 0x75 : 0xeb, (target - end) & 0xff);
      else if (p[0] === 'call') out.push(0xe8, ...le32(target - end));
      else out.push(...le32(target));
    }
    at = end;
  }
  return out;
}

