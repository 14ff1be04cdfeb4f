/**
 * ENTER in 64-bit mode (SDM Vol. 2, "ENTER", 64-bit operation): the frame pointer and the
 * copied level pointers are 8 bytes (2 with a 66 prefix), the stack pointer is all of RSP,
 * and stack addresses must be canonical (#SS(0)). Everything is written below RSP first and
 * RSP/RBP are committed at the end, so a fault part-way restarts the instruction cleanly.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { Seg } from '../../state/segment-cache.js';
import { canonicalLinear, readMem64, writeMem64 } from '../addressing.js';
import type { SoftCpu } from '../soft-cpu.js';

const TWO_32 = 4294967296;
const RSP = 4;
const RBP = 5;

/** Scratch 64-bit pointer (lo unsigned, hi signed). */
const p = { lo: 0, hi: 0 };

function sub(lo: number, hi: number, n: number): void {
  let l = lo - n;
  let h = hi;
  if (l < 0) {
    l += TWO_32;
    h = (h - 1) | 0;
  }
  p.lo = l;
  p.hi = h;
}

function store(cpu: SoftCpu, size: number, lo: number, hi: number, vLo: number, vHi: number): void {
  const lin = canonicalLinear(cpu, Seg.SS, lo, hi);
  if (size === 8) writeMem64(cpu, lin, vLo, vHi);
  else cpu.mem.write16(lin, vLo & 0xffff);
}

export function enter64(cpu: SoftCpu, insn: Instruction): void {
  const size = insn.opSize === 2 ? 2 : 8;
  const g = cpu.regs.gpr;
  const level = insn.detail.imm2 & 31;
  sub(g.r32[RSP] >>> 0, g.hi[RSP], size);
  store(cpu, size, p.lo, p.hi, g.r32[RBP], g.hi[RBP]);
  const frameLo = p.lo;
  const frameHi = p.hi;
  let bpLo = g.r32[RBP] >>> 0;
  let bpHi = g.hi[RBP];
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      const spLo = p.lo;
      const spHi = p.hi;
      sub(bpLo, bpHi, size);
      bpLo = p.lo;
      bpHi = p.hi;
      const src = canonicalLinear(cpu, Seg.SS, bpLo, bpHi);
      const vLo = size === 8 ? readMem64(cpu, src) : cpu.mem.read16(src);
      const vHi = size === 8 ? cpu.valueHi : 0;
      sub(spLo, spHi, size);
      store(cpu, size, p.lo, p.hi, vLo, vHi);
    }
    sub(p.lo, p.hi, size);
    store(cpu, size, p.lo, p.hi, frameLo, frameHi);
  }
  const spLo = p.lo;
  const spHi = p.hi;
  sub(spLo, spHi, insn.imm & 0xffff);
  // The final stack pointer must be writable (SDM ENTER: #PF even though nothing is stored there).
  cpu.mem.probeWrite?.(canonicalLinear(cpu, Seg.SS, p.lo, p.hi));
  if (size === 8) {
    g.r32[RBP] = frameLo | 0;
    g.hi[RBP] = frameHi;
  } else g.r16[RBP << 1] = frameLo;
  g.r32[RSP] = p.lo | 0;
  g.hi[RSP] = p.hi;
}
