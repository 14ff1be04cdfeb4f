/**
 * PUSH and POP in their register, memory, immediate and segment forms, PUSHA/POPA,
 * PUSHF/POPF, ENTER/LEAVE. A POP to memory computes the address after incrementing the
 * stack pointer, as the SDM specifies for POP r/m with an rSP-based address.
 */
import { PREFIX_REX_SHIFT, REX_B, type Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { memoryLinear, readE, readE64, readMem, segmentLinear, setRegV, writeE, writeE64, writeMem } from '../addressing.js';
import { raise, Vector } from '../faults.js';
import { checkV86Iopl } from '../protected/v86.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadSegment } from '../protected/segment-load.js';
import { syncPrivilege } from '../protected/privilege.js';
import { addRsp, peek64, pop16, pop32, pop64, popV, push16, push32, push64, pushV } from '../stack.js';
import { enter64 } from './stack-ops-64.js';
import { spinPause } from './cpuid-msr.js';
import type { Handler, HandlerTable } from './types.js';
import { GprSlot } from '../../state/gpr-file.js';

/** The EFLAGS bits PUSHF pushes: VM and RF never are (SDM Vol. 2B, PUSHF). */
export const PUSHF_MASK = 0x00fcffff;

/** The register in an opcode's low 3 bits (50+r, B8+r, 90+r, 0F C8+r), extended by REX.B. */
export const zReg = (insn: Instruction): number => (insn.opcode & 7) | (((insn.prefixes >>> PREFIX_REX_SHIFT) & REX_B) << 3);

function pushSeg(seg: number) {
  return (cpu: SoftCpu, insn: Instruction) => pushV(cpu, insn.opSize, cpu.regs.seg.selector[seg]);
}

function popSeg(seg: number) {
  return (cpu: SoftCpu, insn: Instruction) => {
    // The selector is read first and ESP moves only once the load succeeded (a fault restarts POP).
    const g = cpu.regs.gpr;
    const esp = g.r32[4];
    const espHi = g.hi[4];
    const selector = popV(cpu, insn.opSize) & 0xffff;
    const after = g.r32[4];
    const afterHi = g.hi[4];
    g.r32[4] = esp;
    g.hi[4] = espHi;
    loadSegment(cpu, seg, selector);
    g.r32[4] = after;
    g.hi[4] = afterHi;
  };
}

/** Bits POPF may change in real mode: all but VM, RF (and reserved ones). */
const POPF_MASK_32 = 0x00257fd5;

/**
 * ENTER (SDM Vol. 2, "ENTER"): push rBP, copy level-1 frame pointers from the old frame
 * (read through SS at rBP - i*size, limit-checked), push the new frame pointer, then lower
 * rSP by the allocation. The stack pointer is the stack size's (SS.B); the pushed values and
 * rBP are the operand size's. Stores go below rSP and rSP/rBP are committed only at the end,
 * so a fault part-way leaves the registers as before and the instruction restarts cleanly.
 * The new rSP must lie inside the stack segment (#SS otherwise).
 */
function enter(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize;
  if (insn.mode === 64) {
    enter64(cpu, insn);
    return;
  }
  const g = cpu.regs.gpr;
  const big = (cpu.regs.seg.attr[Seg.SS] & 0x4000) !== 0;
  const mask = big ? 0xffffffff : 0xffff;
  const level = insn.detail.imm2 & 31;
  const esp = g.r32[4] >>> 0;
  const bp = big ? g.r32[5] >>> 0 : g.r16[10];
  let sp = ((esp & mask) - size) & mask;
  writeMem(cpu, segmentLinear(cpu, Seg.SS, sp >>> 0, size), size, size === 2 ? g.r16[10] : g.r32[5]);
  // FrameTemp is ESP after the push (SDM ENTER): on a 16-bit stack a 32-bit frame pointer keeps
  // ESP's upper half, both in EBP and in the copy pushed for a nested level.
  const frame = big || size === 2 ? sp >>> 0 : ((esp & 0xffff0000) | sp) >>> 0;
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      const v = readMem(cpu, segmentLinear(cpu, Seg.SS, ((bp - i * size) & mask) >>> 0, size), size);
      sp = (sp - size) & mask;
      writeMem(cpu, segmentLinear(cpu, Seg.SS, sp >>> 0, size), size, v);
    }
    sp = (sp - size) & mask;
    writeMem(cpu, segmentLinear(cpu, Seg.SS, sp >>> 0, size), size, frame);
  }
  const newSp = ((sp - insn.imm) & mask) >>> 0;
  // The final stack pointer must be writable (SDM ENTER: #PF even though nothing is stored there).
  cpu.mem.probeWrite?.(segmentLinear(cpu, Seg.SS, newSp, 1));
  setRegV(cpu, 5, size, frame);
  if (big) g.r32[4] = newSp;
  else g.r16[8] = newSp;
}

export const STACK_HANDLERS: HandlerTable = {
  push_Zv: (cpu, insn) => {
    const n = zReg(insn);
    const g = cpu.regs.gpr;
    if (insn.opSize === 2) push16(cpu, g.r16[n << 1]);
    else if (insn.opSize === 8) push64(cpu, g.r32[n], g.hi[n]);
    else push32(cpu, g.r32[n]);
  },
  pop_Zv: (cpu, insn) => {
    const n = zReg(insn);
    const g = cpu.regs.gpr;
    if (insn.opSize === 2) g.r16[n << 1] = pop16(cpu);
    else if (insn.opSize === 8) {
      g.r32[n] = pop64(cpu);
      g.hi[n] = cpu.valueHi;
    } else {
      g.r32[n] = pop32(cpu);
      g.r32[n | GprSlot.High] = 0;
    }
  },
  // In 64-bit mode the immediate is sign-extended to 64 bits (immHi holds its sign).
  push_Iz: (cpu, insn) => pushV(cpu, insn.opSize, insn.imm, insn.detail.immHi),
  push_Ibs: (cpu, insn) => pushV(cpu, insn.opSize, insn.imm, insn.detail.immHi),
  push_Ev: (cpu, insn) => {
    if (insn.opSize === 8) {
      const lo = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
      push64(cpu, lo, cpu.valueHi);
      return;
    }
    pushV(cpu, insn.opSize, readE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0));
  },
  pop_Ev: (cpu, insn) => {
    if (insn.opSize === 8) {
      // The destination address uses the incremented RSP; a fault on it restores RSP.
      const lo = peek64(cpu, 0);
      const hi = cpu.valueHi;
      addRsp(cpu, 8);
      try {
        writeE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0, lo, hi);
      } catch (e) {
        addRsp(cpu, -8);
        throw e;
      }
      return;
    }
    // As above: the address uses the incremented stack pointer, and a fault restores it.
    const g = cpu.regs.gpr;
    const spLo = g.r32[4];
    const spHi = g.hi[4];
    const v = popV(cpu, insn.opSize);
    try {
      writeE(cpu, insn, insn.opSize, insn.isMem ? memoryLinear(cpu, insn, insn.opSize) : 0, v);
    } catch (e) {
      g.r32[4] = spLo;
      g.hi[4] = spHi;
      throw e;
    }
  },
  push_ES: pushSeg(Seg.ES),
  push_CS: pushSeg(Seg.CS),
  push_SS: pushSeg(Seg.SS),
  push_DS: pushSeg(Seg.DS),
  push_FS: pushSeg(Seg.FS),
  push_GS: pushSeg(Seg.GS),
  pop_ES: popSeg(Seg.ES),
  pop_SS: popSeg(Seg.SS),
  pop_DS: popSeg(Seg.DS),
  pop_FS: popSeg(Seg.FS),
  pop_GS: popSeg(Seg.GS),
  pusha: (cpu, insn) => {
    const g = cpu.regs.gpr;
    const size = insn.opSize;
    const sp = size === 2 ? g.r16[8] : g.r32[4];
    for (let n = 0; n < 8; n++) pushV(cpu, size, n === 4 ? sp : size === 2 ? g.r16[n << 1] : g.r32[n]);
  },
  popa: (cpu, insn) => {
    const size = insn.opSize;
    const g = cpu.regs.gpr;
    for (let n = 7; n >= 0; n--) {
      const v = popV(cpu, size);
      if (n !== 4) setRegV(cpu, n, size, v);
    }
    void g;
  },
  pushf: (cpu, insn) => {
    checkV86Iopl(cpu);
    pushV(cpu, insn.opSize, cpu.regs.flags.get() & PUSHF_MASK, 0);
  },
  popf: (cpu, insn) => {
    const f = cpu.regs.flags;
    const old = f.get();
    // Virtual-8086 mode: #GP(0) below IOPL 3; at IOPL 3 the CPL 3 rules below keep IOPL (and VM).
    checkV86Iopl(cpu);
    const v = popV(cpu, insn.opSize);
    // Protected mode: IOPL changes only at CPL 0, IF only when CPL <= IOPL (SDM Vol. 2, "POPF").
    // POPFQ: bits 63:22 are reserved; VM and RF are not popped (as with 32 bits).
    let mask = insn.opSize === 2 ? 0x7fd5 : POPF_MASK_32;
    if (cpu.regs.cr0 & 1) {
      const cpl = cpu.regs.cpl;
      if (cpl > 0) mask &= ~0x3000;
      if (cpl > ((old >> 12) & 3)) mask &= ~0x200;
    }
    // A 32-bit POPF clears RF; VM, VIF, VIP keep their values.
    f.set((old & ~mask & (insn.opSize === 2 ? ~0 : ~0x10000)) | (v & mask));
    if ((old ^ v) & mask & 0x40000) syncPrivilege(cpu);
  },
  leave: (cpu, insn) => {
    const g = cpu.regs.gpr;
    if (insn.mode === 64) {
      // RSP = RBP, then pop rBP (8 bytes, or 2 with a 66 prefix); RSP moves only if the pop succeeds.
      const rsp = g.r32[4];
      const rspHi = g.hi[4];
      g.r32[4] = g.r32[5];
      g.hi[4] = g.hi[5];
      try {
        if (insn.opSize === 8) {
          g.r32[5] = pop64(cpu);
          g.hi[5] = cpu.valueHi;
        } else g.r16[10] = pop16(cpu);
      } catch (e) {
        g.r32[4] = rsp;
        g.hi[4] = rspHi;
        throw e;
      }
      return;
    }
    if (cpu.regs.seg.attr[Seg.SS] & 0x4000) g.r32[4] = g.r32[5];
    else g.r16[8] = g.r16[10];
    setRegV(cpu, 5, insn.opSize, popV(cpu, insn.opSize));
  },
  enter_Iw_Ib: enter,
};

export const FLAG_HANDLERS: HandlerTable = {
  clc: (cpu) => cpu.regs.flags.set(cpu.regs.flags.get() & ~0x1),
  stc: (cpu) => cpu.regs.flags.set(cpu.regs.flags.get() | 0x1),
  cmc: (cpu) => cpu.regs.flags.set(cpu.regs.flags.get() ^ 0x1),
  cld: (cpu) => cpu.regs.flags.set(cpu.regs.flags.get() & ~0x400),
  std: (cpu) => cpu.regs.flags.set(cpu.regs.flags.get() | 0x400),
  cli: (cpu) => {
    if (cpu.regs.cr0 & 1 && cpu.regs.cpl > ((cpu.regs.flags.get() >> 12) & 3)) raise(Vector.GP, 0);
    cpu.regs.flags.set(cpu.regs.flags.get() & ~0x200);
  },
  sti: (cpu) => {
    if (cpu.regs.cr0 & 1 && cpu.regs.cpl > ((cpu.regs.flags.get() >> 12) & 3)) raise(Vector.GP, 0);
    cpu.regs.flags.set(cpu.regs.flags.get() | 0x200);
  },
  nop: () => {},
  pause: spinPause,
  nop_Ev: () => {},
  fwait: () => {},
};

/**
 * PUSH/POP r (50+r, 58+r) fixed to the operand size, picked once per decoded instruction by the
 * run loop (loop-handlers.ts): [16-bit, 32-bit, -, -] (no memory forms; the 16-bit and unused
 * slots keep the general handler, which 64-bit operands also use).
 */
export const PUSH_POP_VARIANTS: Readonly<Record<string, readonly [Handler, Handler, Handler, Handler]>> = {
  push_Zv: [
    STACK_HANDLERS.push_Zv,
    (cpu, insn) => push32(cpu, cpu.regs.gpr.r32[zReg(insn)]),
    STACK_HANDLERS.push_Zv,
    STACK_HANDLERS.push_Zv,
  ],
  pop_Zv: [
    STACK_HANDLERS.pop_Zv,
    (cpu, insn) => {
      const n = zReg(insn);
      const g = cpu.regs.gpr;
      g.r32[n] = pop32(cpu);
      g.r32[n | GprSlot.High] = 0;
    },
    STACK_HANDLERS.pop_Zv,
    STACK_HANDLERS.pop_Zv,
  ],
};
