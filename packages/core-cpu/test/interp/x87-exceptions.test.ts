// x87 exceptions as an operating system sees them: #NM from CR0.EM/TS (and WAIT's MP rule),
// unmasked exceptions pending in FSW (ES/B) and taken as #MF by the next waiting instruction
// with CR0.NE = 1, FERR# through the injectable callback with CR0.NE = 0, and the
// instructions that must stay #UD (FISTTP is SSE3).
import { describe, expect, it } from 'vitest';
import { FSW_B, FSW_ES } from '../../src/fpu/fpu-state.js';
import { FSW_IE, FSW_SF, FSW_ZE } from '../../src/fpu/round.js';
import { Vector } from '../../src/interp/faults.js';
import { DATA, FLD1, FLDZ, FNCLEX, FNINIT, FNSTSW_AX, FWAIT, m16, runX87 } from './x87-support.js';

const CR0_MP = 2;
const CR0_EM = 4;
const CR0_TS = 8;
const CR0_NE = 0x20;
const FDIV_ST0_ST1 = [0xd8, 0xf1];
/** FLDCW [bx]: each test puts the control word in `data`. */
const FLDCW = m16(0xd9, 5, 0);

describe('x87 device-not-available (#NM)', () => {
  it('raises #NM for an x87 instruction with CR0.EM or CR0.TS set', () => {
    expect(runX87([...FLD1], { cr0: CR0_EM }).cpu.lastException).toBe(Vector.NM);
    expect(runX87([...FLD1], { cr0: CR0_TS }).cpu.lastException).toBe(Vector.NM);
    expect(runX87([...FNINIT], { cr0: CR0_TS }).cpu.lastException).toBe(Vector.NM);
    expect(runX87([...FLD1]).cpu.lastException).toBe(-1);
  });

  it('raises #NM for WAIT only when both CR0.TS and CR0.MP are set (EM does not matter)', () => {
    expect(runX87([...FWAIT], { cr0: CR0_TS }).cpu.lastException).toBe(-1);
    expect(runX87([...FWAIT], { cr0: CR0_EM }).cpu.lastException).toBe(-1);
    expect(runX87([...FWAIT], { cr0: CR0_TS | CR0_MP }).cpu.lastException).toBe(Vector.NM);
  });

  it('leaves RIP at the faulting instruction so the handler can CLTS and retry', () => {
    const t = runX87([...FLD1], { cr0: CR0_TS, steps: 1 });
    expect(t.cpu.lastException).toBe(Vector.NM);
    // The IVT stub for vector 7 is a HLT at 0x507; the pushed IP is the FLD1's.
    expect(t.memory.read16(0x7000 - 6)).toBe(0x7c00);
  });
});

describe('x87 unmasked exceptions (#MF and FERR#)', () => {
  // Control word 0x037B: ZE unmasked.
  const unmaskZE = [0x7b, 0x03];

  it('records an unmasked exception as pending (ES, B) without trapping, then #MF on the next waiting instruction', () => {
    const code = [...FNINIT, ...FLDCW, ...FLDZ, ...FLD1, ...FDIV_ST0_ST1, ...FNSTSW_AX, ...FWAIT];
    const t = runX87(code, { cr0: CR0_NE, data: unmaskZE });
    expect(t.cpu.lastException).toBe(Vector.MF);
    const sw = t.cpu.regs.gpr.r16[0];
    expect(sw & (FSW_ZE | FSW_ES | FSW_B)).toBe(FSW_ZE | FSW_ES | FSW_B);
    // The unmasked ZE left the destination alone: ST(0) is still 1.0.
    expect(t.cpu.regs.fpu.regs.se[t.cpu.regs.fpu.top]).toBe(0x3fff);
    // #MF is reported at the FWAIT (pushed IP), not at the FDIV.
    expect(t.memory.read16(0x7000 - 6)).toBe(0x7c00 + code.length - 1);
  });

  it('FNCLEX clears the pending exception so the next waiting instruction runs', () => {
    const t = runX87([...FNINIT, ...FLDCW, ...FLDZ, ...FLD1, ...FDIV_ST0_ST1, ...FNCLEX, ...FWAIT, ...FLD1], { cr0: CR0_NE, data: unmaskZE });
    expect(t.cpu.lastException).toBe(-1);
    expect(t.sw & (FSW_ES | FSW_B | FSW_ZE)).toBe(0);
  });

  it('an unmasked stack underflow leaves the stack unchanged and is taken by the next x87 instruction', () => {
    const t = runX87([...FNINIT, ...FLDCW, ...[0xd8, 0xc1], ...FLD1], { cr0: CR0_NE, data: [0x7e, 0x03] });
    expect(t.cpu.lastException).toBe(Vector.MF);
    expect(t.sw & (FSW_IE | FSW_SF | FSW_ES)).toBe(FSW_IE | FSW_SF | FSW_ES);
    expect(t.cpu.regs.fpu.valid).toBe(0);
  });

  it('FLDCW that unmasks an exception already flagged makes it pending', () => {
    // Masked ZE first (flag set), then FLDCW unmasks it: the next FLD1 takes #MF.
    const t = runX87([...FNINIT, ...FLDZ, ...FLD1, ...FDIV_ST0_ST1, ...FLDCW, ...FLD1], { cr0: CR0_NE, data: unmaskZE });
    expect(t.cpu.lastException).toBe(Vector.MF);
  });

  it('with CR0.NE = 0 signals FERR# (IRQ13 on a PC) instead of #MF and continues', () => {
    let ferr = 0;
    const t = runX87([...FNINIT, ...FLDCW, ...FLDZ, ...FLD1, ...FDIV_ST0_ST1, ...FWAIT, ...FLD1], {
      data: unmaskZE,
      setup: (cpu) => {
        cpu.regs.cr0 &= ~CR0_NE;
        cpu.regs.fpu.ferr = () => ferr++;
      },
    });
    expect(t.cpu.lastException).toBe(-1);
    expect(ferr).toBe(2); // FWAIT and the FLD1 after it both find the error pending
  });

  it('non-waiting instructions (FNSTSW, FNSTCW, FNINIT) do not take a pending exception', () => {
    const t = runX87([...FNINIT, ...FLDCW, ...FLDZ, ...FLD1, ...FDIV_ST0_ST1, ...FNSTSW_AX, ...m16(0xd9, 7, 2), ...FNINIT], { cr0: CR0_NE, data: unmaskZE });
    expect(t.cpu.lastException).toBe(-1);
    expect(t.memory.read16(DATA + 2)).toBe(0x037b);
  });
});

describe('x87 opcodes that are not x87 instructions on this CPU', () => {
  it('FISTTP (SSE3: DF /1, DB /1, DD /1) raises #UD', () => {
    for (const op of [0xdf, 0xdb, 0xdd]) expect(runX87([...FNINIT, ...FLD1, ...m16(op, 1, 0)]).cpu.lastException).toBe(Vector.UD);
  });
});
