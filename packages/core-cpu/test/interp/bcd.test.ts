import { describe, expect, it } from 'vitest';
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { AF, CF, OF, PF, SF, ZF } from '../../src/alu/lazy-flags.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';

const ARITH = CF | PF | AF | ZF | SF | OF;

const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
const cpu = new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus());

/** Runs `code` then HLT in real mode at 0:0x7c00 with AX and FLAGS given; #n handlers are HLTs. */
function run(code: number[], ax: number, flags = 0): { ax: number; flags: number; exception: number } {
  for (let v = 0; v < 32; v++) {
    memory.write16(v * 4, 0x500 + v);
    memory.write16(v * 4 + 2, 0);
    memory.write8(0x500 + v, 0xf4);
  }
  memory.writeBytes(0x7c00, Uint8Array.from([...code, 0xf4]));
  const s = resetCpuState();
  s.cs = { ...s.cs, selector: 0, base: 0n };
  s.rip = 0x7c00n;
  s.gpr[4] = 0x7000n;
  s.gpr[0] = BigInt(ax);
  cpu.regs.load(s);
  cpu.halted = false;
  cpu.lastException = -1;
  cpu.regs.flags.set(flags);
  cpu.run(3);
  return { ax: cpu.regs.gpr.r16[0], flags: cpu.regs.flags.get() & ARITH, exception: cpu.lastException };
}

const DAA = [0x27];
const DAS = [0x2f];
const AAA = [0x37];
const AAS = [0x3f];

describe('DAA and DAS', () => {
  it('DAA after 79 + 35 (AL = AEh) gives 14 with a decimal carry (SDM example)', () => {
    const r = run(DAA, 0xae);
    expect(r.ax & 0xff).toBe(0x14);
    expect(r.flags & (CF | AF)).toBe(CF | AF);
  });

  it('DAA after 35 + 47 (AL = 7Ch) adds 6 to the low digit only', () => {
    const r = run(DAA, 0x7c);
    expect(r.ax & 0xff).toBe(0x82);
    expect(r.flags).toBe(AF | SF | PF);
  });

  it('DAA with AF and CF in and nothing to fix still adds 66h', () => {
    const r = run(DAA, 0x00, AF | CF);
    expect(r.ax & 0xff).toBe(0x66);
    expect(r.flags).toBe(AF | CF | PF);
  });

  it('DAA clears OF (the P6 value of an undefined flag) and sets ZF from AL', () => {
    const r = run(DAA, 0x9a, OF);
    expect(r.ax & 0xff).toBe(0x00);
    expect(r.flags).toBe(CF | AF | ZF | PF);
  });

  it('DAS after 35 - 47 (AL = EEh) gives 88 with a borrow (SDM example)', () => {
    const r = run(DAS, 0xee, AF | CF);
    expect(r.ax & 0xff).toBe(0x88);
    expect(r.flags).toBe(CF | AF | SF | PF);
  });

  it('DAS keeps the borrow of the low-digit step when the high digit needs no fix', () => {
    const r = run(DAS, 0x03, AF);
    expect(r.ax & 0xff).toBe(0xfd);
    expect(r.flags & (CF | AF)).toBe(CF | AF);
  });

  it('DAS leaves a valid BCD byte alone and clears CF and AF', () => {
    const r = run(DAS, 0x45, OF);
    expect(r.ax & 0xff).toBe(0x45);
    expect(r.flags).toBe(0);
  });
});

describe('AAA and AAS', () => {
  it('AAA adjusts AX as a whole: AL + 6 carries into AH on top of the +1', () => {
    const r = run(AAA, 0x00ff);
    expect(r.ax).toBe(0x0205);
    expect(r.flags).toBe(AF | CF | PF);
  });

  it('AAA with a valid digit and AF clear clears CF and keeps only the low nibble of AL', () => {
    const r = run(AAA, 0x0739, CF | SF);
    expect(r.ax).toBe(0x0709);
    expect(r.flags).toBe(PF);
  });

  it('AAA sets ZF and PF from AL and leaves SF and OF clear', () => {
    const r = run(AAA, 0x011a, OF | SF);
    expect(r.ax).toBe(0x0200);
    expect(r.flags).toBe(AF | CF | ZF | PF);
  });

  it('AAS subtracts 106h from AX when the low digit is invalid', () => {
    const r = run(AAS, 0x0200, AF);
    expect(r.ax).toBe(0x000a);
    expect(r.flags).toBe(AF | CF | PF);
  });

  it('AAS with a valid digit clears CF and AF', () => {
    const r = run(AAS, 0x0385, CF);
    expect(r.ax).toBe(0x0305);
    expect(r.flags).toBe(PF);
  });
});

describe('AAM and AAD', () => {
  it('AAM 10 splits AL into decimal digits in AH and AL', () => {
    const r = run([0xd4, 0x0a], 0x124f);
    expect(r.ax).toBe(0x0709);
    expect(r.flags).toBe(PF);
  });

  it('AAM with another base divides by it, and clears OF, AF and CF', () => {
    const r = run([0xd4, 0x10], 0x00f0, OF | AF | CF);
    expect(r.ax).toBe(0x0f00);
    expect(r.flags).toBe(ZF | PF);
  });

  it('AAM 0 raises #DE and leaves AX unchanged', () => {
    const r = run([0xd4, 0x00], 0x1234, CF);
    expect(r.exception).toBe(0);
    expect(r.ax).toBe(0x1234);
  });

  it('AAD 10 folds AH into AL and clears AH', () => {
    const r = run([0xd5, 0x0a], 0x0709);
    expect(r.ax).toBe(0x004f);
    expect(r.flags).toBe(0);
  });

  it('AAD keeps only the low byte of AH * base + AL and sets SF from it', () => {
    const r = run([0xd5, 0x10], 0x0f0f, CF | OF | AF);
    expect(r.ax).toBe(0x00ff);
    expect(r.flags).toBe(SF | PF);
  });

  it('AAD sets CF, AF and OF as the 8-bit ADD of AL and the low byte of AH * base', () => {
    // AH * 10 = 0x65E: 0x06 + 0x5E = 0x64 with a carry out of bit 3 only.
    expect(run([0xd5, 0x0a], 0xa306).flags).toBe(AF);
    // 0x7F + 0x01 overflows into the sign bit.
    expect(run([0xd5, 0x01], 0x017f).flags).toBe(OF | SF | AF);
    // 0xFF + 0x01 carries out of the byte and leaves zero.
    const wrap = run([0xd5, 0x01], 0x01ff);
    expect(wrap.ax).toBe(0);
    expect(wrap.flags).toBe(CF | AF | ZF | PF);
  });
});
