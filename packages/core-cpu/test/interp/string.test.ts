import { describe, expect, it } from 'vitest';
import { testCpu } from './test-machine.js';
import { type IoDevice } from '@tsemu/devices/platform';
import { REP_CHUNK, STRING_HANDLERS } from '../../src/interp/handlers/string.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Seg } from '../../src/state/segment-cache.js';
import type { CpuFault } from '../../src/interp/faults.js';

const AX = 0, CX = 1, SI = 6, DI = 7;
const CODE = 0x7c00;
const DF = 0x400;
const ZF = 0x40;

/**
 * A real-mode CPU with `code` at 0:0x7c00, DS = 0x1000, ES = 0x2000, and an IVT whose
 * handlers are HLTs at 0x500 + vector (so a fault ends at IP 0x501 + vector).
 */
function realModeCpu(code: number[]) {
  return testCpu(code, { ramSize: 0x200000, ds: 0x1000, es: 0x2000, haltingIvt: true });
}

/** The same machine in flat 32-bit protected mode (CS.D set, 4 GiB limits, ring 0). */
function flat32Cpu(code: number[]) {
  return testCpu(code, { ramSize: 0x200000, ds: 0x1000, es: 0x2000, haltingIvt: true, flat32: true });
}

const r16 = (cpu: SoftCpu, n: number) => cpu.regs.gpr.r16[n << 1];
const set16 = (cpu: SoftCpu, n: number, v: number) => (cpu.regs.gpr.r16[n << 1] = v);

describe('MOVS / STOS / LODS', () => {
  it('REP MOVSB copies CX bytes from DS:SI to ES:DI and leaves CX zero', () => {
    const { cpu, memory } = realModeCpu([0xf3, 0xa4, 0xf4]);
    memory.writeBytes(0x10100, Uint8Array.from([1, 2, 3, 4, 5]));
    set16(cpu, SI, 0x100);
    set16(cpu, DI, 0x200);
    set16(cpu, CX, 5);
    cpu.step();
    expect([...memory.bytes.subarray(0x20200, 0x20206)]).toEqual([1, 2, 3, 4, 5, 0]);
    expect([r16(cpu, SI), r16(cpu, DI), r16(cpu, CX)]).toEqual([0x105, 0x205, 0]);
    expect(cpu.regs.rip).toBe(CODE + 2);
  });

  it('MOVSW with DF set moves one word and steps SI and DI down by 2', () => {
    const { cpu, memory } = realModeCpu([0xfd, 0xa5, 0xf4]); // std; movsw
    memory.write16(0x10010, 0xbeef);
    set16(cpu, SI, 0x10);
    set16(cpu, DI, 0x20);
    cpu.run(2);
    expect(memory.read16(0x20020)).toBe(0xbeef);
    expect([r16(cpu, SI), r16(cpu, DI)]).toEqual([0x0e, 0x1e]);
  });

  it('takes the source segment from an override but always writes through ES', () => {
    const { cpu, memory } = realModeCpu([0x26, 0xa4, 0xf4]); // es movsb
    memory.write8(0x20005, 0x77);
    memory.write8(0x10005, 0x11);
    set16(cpu, SI, 5);
    set16(cpu, DI, 6);
    cpu.step();
    expect(memory.read8(0x20006)).toBe(0x77);
  });

  it('REP with CX = 0 does nothing', () => {
    const { cpu, memory } = realModeCpu([0xf3, 0xaa, 0xf4]); // rep stosb
    cpu.regs.gpr.r8[0] = 0x55;
    set16(cpu, DI, 0x40);
    cpu.step();
    expect(memory.read8(0x20040)).toBe(0);
    expect(r16(cpu, DI)).toBe(0x40);
    expect(cpu.regs.rip).toBe(CODE + 2);
  });

  it('REP STOSW fills words from AX; F2 also means REP for STOS', () => {
    const { cpu, memory } = realModeCpu([0xf2, 0xab, 0xf4]);
    set16(cpu, AX, 0x1234);
    set16(cpu, CX, 3);
    cpu.step();
    expect([memory.read16(0x20000), memory.read16(0x20002), memory.read16(0x20004), memory.read16(0x20006)]).toEqual([0x1234, 0x1234, 0x1234, 0]);
    expect(r16(cpu, DI)).toBe(6);
  });

  it('LODSB loads AL and leaves AH alone', () => {
    const { cpu, memory } = realModeCpu([0xac, 0xf4]);
    memory.write8(0x10003, 0x9a);
    set16(cpu, AX, 0x1100);
    set16(cpu, SI, 3);
    cpu.step();
    expect(r16(cpu, AX)).toBe(0x119a);
    expect(r16(cpu, SI)).toBe(4);
  });

  it('SI wraps at 64 KiB with a 16-bit address size', () => {
    const { cpu, memory } = realModeCpu([0xac, 0xf4]);
    memory.write8(0x1ffff, 0x42);
    set16(cpu, SI, 0xffff);
    cpu.step();
    expect(cpu.regs.gpr.r8[0]).toBe(0x42);
    expect(r16(cpu, SI)).toBe(0);
  });
});

describe('CMPS / SCAS', () => {
  it('REPE CMPSB stops after the first differing byte with ZF clear and flags of the subtraction', () => {
    const { cpu, memory } = realModeCpu([0xf3, 0xa6, 0xf4]);
    memory.writeBytes(0x10000, Uint8Array.from([1, 2, 3, 9, 5]));
    memory.writeBytes(0x20000, Uint8Array.from([1, 2, 3, 4, 5]));
    set16(cpu, CX, 5);
    cpu.step();
    expect([r16(cpu, SI), r16(cpu, DI), r16(cpu, CX)]).toEqual([4, 4, 1]);
    const f = cpu.regs.flags;
    expect([f.zf(), f.cf(), f.sf()]).toEqual([0, 0, 0]); // 9 - 4
  });

  it('REPE CMPSW runs to CX = 0 with ZF set when all words match', () => {
    const { cpu, memory } = realModeCpu([0xf3, 0xa7, 0xf4]);
    memory.write16(0x10000, 0xabcd);
    memory.write16(0x10002, 0x1111);
    memory.write16(0x20000, 0xabcd);
    memory.write16(0x20002, 0x1111);
    set16(cpu, CX, 2);
    cpu.step();
    expect(r16(cpu, CX)).toBe(0);
    expect(cpu.regs.flags.zf()).toBe(1);
  });

  it('REPNE SCASB finds AL and stops with DI past the match', () => {
    const { cpu, memory } = realModeCpu([0xf2, 0xae, 0xf4]);
    memory.writeBytes(0x20000, new TextEncoder().encode('hello\0world'));
    cpu.regs.gpr.r8[0] = 0;
    set16(cpu, CX, 0xffff);
    cpu.step();
    expect(r16(cpu, DI)).toBe(6);
    expect(r16(cpu, CX)).toBe(0xffff - 6);
    expect(cpu.regs.flags.zf()).toBe(1);
  });

  it('SCASW compares AX with ES:DI: borrow sets CF', () => {
    const { cpu, memory } = realModeCpu([0xaf, 0xf4]);
    memory.write16(0x20000, 0x8000);
    set16(cpu, AX, 0x0001);
    cpu.step();
    const f = cpu.regs.flags;
    expect([f.cf(), f.zf(), f.of()]).toEqual([1, 0, 1]);
    expect(r16(cpu, DI)).toBe(2);
  });

  it('a REPE CMPS that ends on CX = 0 does not look at ZF from before the instruction', () => {
    const { cpu, memory } = realModeCpu([0xf3, 0xa6, 0xf4]);
    memory.write8(0x10000, 1);
    memory.write8(0x20000, 2);
    cpu.regs.flags.set(cpu.regs.flags.get() | ZF);
    set16(cpu, CX, 1);
    cpu.step();
    expect(cpu.regs.flags.zf()).toBe(0);
    expect(r16(cpu, CX)).toBe(0);
  });
});

describe('INS / OUTS', () => {
  function fifo() {
    const out: number[] = [];
    let next = 0x10;
    const dev: IoDevice = { name: 'fifo', read: () => next++, write: (_o, _s, v) => void out.push(v) };
    return { dev, out };
  }

  it('REP INSB reads the port CX times into ES:DI', () => {
    const { cpu, memory, io } = realModeCpu([0xf3, 0x6c, 0xf4]);
    const { dev } = fifo();
    io.register(0x300, 1, dev);
    set16(cpu, 2, 0x300); // DX
    set16(cpu, CX, 3);
    cpu.step();
    expect([...memory.bytes.subarray(0x20000, 0x20003)]).toEqual([0x10, 0x11, 0x12]);
    expect(r16(cpu, DI)).toBe(3);
  });

  it('REP OUTSW writes words from DS:SI to port DX, honouring a segment override', () => {
    const { cpu, memory, io } = realModeCpu([0xf3, 0x26, 0x6f, 0xf4]); // rep es outsw
    const { dev, out } = fifo();
    io.register(0x300, 2, dev, [1, 2]);
    memory.write16(0x20000, 0xaaaa);
    memory.write16(0x20002, 0xbbbb);
    set16(cpu, 2, 0x300);
    set16(cpu, CX, 2);
    cpu.step();
    expect(out).toEqual([0xaaaa, 0xbbbb]);
    expect(r16(cpu, SI)).toBe(4);
  });

  it('INS and OUTS at CPL 3 with IOPL 0 in protected mode raise #GP before touching the port', () => {
    const { cpu, io } = flat32Cpu([]);
    const { dev, out } = fifo();
    io.register(0, 1, dev);
    cpu.regs.seg.selector[Seg.CS] = 3;
    // A TSS too short to hold the I/O map base (limit < 0x67): no bitmap, so every port is
    // refused at CPL > IOPL.
    cpu.regs.seg.limit[Seg.TR] = 0x66;
    for (const key of ['outs_DX_Xb', 'ins_Yb_DX']) {
      let vector = -1;
      try {
        stringHandler(key)(cpu, cpu.insn);
      } catch (e) {
        vector = (e as CpuFault).vector;
      }
      expect(vector).toBe(13);
    }
    expect(out).toEqual([]);
    expect(cpu.regs.gpr.r32[DI]).toBe(0);
  });
});

describe('faults and restarts', () => {
  it('a word access at offset 0xFFFF raises #GP with SI/DI/CX as they were (P6, not the 286)', () => {
    const { cpu } = realModeCpu([0xa5]); // movsw
    set16(cpu, SI, 0xffff);
    set16(cpu, DI, 0x10);
    cpu.step();
    expect(cpu.lastException).toBe(13);
    expect([r16(cpu, SI), r16(cpu, DI)]).toEqual([0xffff, 0x10]);
  });

  it('REP STOSW faulting at DI = 0xFFFF keeps the completed elements and the remaining count', () => {
    const { cpu, memory } = realModeCpu([0xf3, 0xab, 0xf4]); // rep stosw, DF = 1
    cpu.regs.flags.set(cpu.regs.flags.get() | DF);
    set16(cpu, AX, 0x5a5a);
    set16(cpu, DI, 0x0003);
    set16(cpu, CX, 10);
    cpu.step();
    // DI 3 and 1 are stored, then DI = 0xFFFF faults with CX = 8 left.
    expect(cpu.lastException).toBe(13);
    expect(memory.read16(0x20003)).toBe(0x5a5a);
    expect(memory.read16(0x20001)).toBe(0x5a5a);
    expect([r16(cpu, DI), r16(cpu, CX)]).toEqual([0xffff, 8]);
    // The IP pushed is the REP instruction's own, so IRET would restart it.
    expect(memory.read16(0x7000 - 6)).toBe(CODE);
  });

  it('a REP longer than one chunk yields with RIP at the instruction and finishes over several steps', () => {
    const n = REP_CHUNK * 2 + 5;
    const { cpu, memory } = realModeCpu([0xf3, 0xaa, 0xf4]); // rep stosb
    cpu.regs.gpr.r8[0] = 0xee;
    set16(cpu, CX, n);
    cpu.step();
    expect(cpu.regs.rip).toBe(CODE);
    expect(r16(cpu, CX)).toBe(n - REP_CHUNK);
    expect(r16(cpu, DI)).toBe(REP_CHUNK);
    cpu.step();
    cpu.step();
    expect(cpu.regs.rip).toBe(CODE + 2);
    expect(r16(cpu, CX)).toBe(0);
    expect(memory.read8(0x20000 + n - 1)).toBe(0xee);
    expect(memory.read8(0x20000 + n)).toBe(0);
    expect(cpu.run(10)).toBe(1);
    expect(cpu.halted).toBe(true);
  });
});

describe('address size', () => {
  it('with 67h in real mode, ESI/EDI/ECX are used and an offset past 0xFFFF raises #GP', () => {
    const { cpu } = realModeCpu([0x67, 0xa4]);
    cpu.regs.gpr.r32[SI] = 0x10000;
    cpu.step();
    expect(cpu.lastException).toBe(13);
    expect(cpu.regs.gpr.r32[SI]).toBe(0x10000);
  });

  it('flat 32-bit REP MOVSD uses ESI/EDI/ECX across 64 KiB', () => {
    const { cpu, memory } = flat32Cpu([0xf3, 0xa5, 0xf4]);
    memory.write32(0x1fffe, 0xdeadbeef);
    memory.write32(0x20002, 0x01020304);
    const g = cpu.regs.gpr;
    g.r32[SI] = 0x1fffe;
    g.r32[DI] = 0x30000;
    g.r32[CX] = 2;
    cpu.step();
    expect([memory.read32(0x30000), memory.read32(0x30004)]).toEqual([0xdeadbeef, 0x01020304]);
    expect([g.r32[SI], g.r32[DI], g.r32[CX]]).toEqual([0x20006, 0x30008, 0]);
  });

  it('a 16-bit address size in 32-bit code (67h) wraps DI at 64 KiB', () => {
    const { cpu, memory } = flat32Cpu([0x67, 0xaa, 0xf4]);
    cpu.regs.gpr.r32[DI] = 0x1234ffff;
    cpu.regs.gpr.r8[0] = 0x66;
    cpu.step();
    expect(memory.read8(0xffff)).toBe(0x66);
    expect(cpu.regs.gpr.r32[DI]).toBe(0x12340000);
  });

});

function stringHandler(key: string) {
  const h = STRING_HANDLERS[key];
  if (!h) throw new Error(`no handler ${key}`);
  return h;
}
