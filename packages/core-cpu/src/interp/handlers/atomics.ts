/**
 * Compare-and-exchange and exchange-and-add: CMPXCHG, XADD, CMPXCHG8B (SDM Vol. 2,
 * "CMPXCHG", "XADD", "CMPXCHG8B/CMPXCHG16B"). One vCPU runs per thread, so LOCK needs no host
 * atomics here; the decoder accepts LOCK on the memory forms and rejects it (#UD) on the
 * register forms.
 *
 * - CMPXCHG sets the flags of CMP accumulator, destination. A memory destination is written
 *   whatever the outcome (the old value goes back when the comparison fails), so a read-only
 *   page faults either way, and it is written before the accumulator changes, so a fault
 *   leaves the registers as they were. A register destination is written only on success
 *   and the accumulator only on failure (a 32-bit register that is not written keeps bits
 *   63:32: Intel behaviour, checked in test/differential/atomics-vs-cpu.test.ts).
 * - XADD: destination = destination + source with the ADD flags, source = old destination
 *   (for XADD r, r with one register, the sum wins).
 * - CMPXCHG8B: EDX:EAX against m64, ECX:EBX stored on success, EDX:EAX loaded (and m64
 *   rewritten) on failure; only ZF changes. Its register form does not decode (#UD).
 *   CMPXCHG16B (REX.W) is #UD: the CPUID model does not claim CX16.
 */
import { FlagOp, ZF } from '../../alu/lazy-flags.js';
import type { Instruction } from '../../decoder/instruction.js';
import {
  memoryLinear, readE, readE64, readG, readG64, readMem64, setReg64, setRegV, writeE, writeE64, writeG, writeG64,
  writeMem64,
} from '../addressing.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { HandlerTable } from './types.js';

const RAX = 0;
const RCX = 1;
const RDX = 2;
const RBX = 3;

function accumulator(cpu: SoftCpu, size: number): number {
  const g = cpu.regs.gpr;
  return size === 1 ? g.r8[0] : size === 2 ? g.r16[0] : g.r32[0] >>> 0;
}

function cmpxchg(cpu: SoftCpu, insn: Instruction, size: number): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
  const dest = readE(cpu, insn, size, lin);
  const a = accumulator(cpu, size);
  const f = cpu.regs.flags;
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  f.record(FlagOp.SUB, size << 3, a, dest, a - dest);
  if ((a & mask) === (dest & mask)) {
    writeE(cpu, insn, size, lin, readG(cpu, insn, size));
    return;
  }
  if (insn.isMem) writeE(cpu, insn, size, lin, dest);
  if (size === 1) cpu.regs.gpr.r8[0] = dest;
  else setRegV(cpu, RAX, size, dest);
}

function cmpxchg64(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
  const dLo = readE64(cpu, insn, lin);
  const dHi = cpu.valueHi;
  const g = cpu.regs.gpr;
  const aLo = g.r32[RAX];
  const aHi = g.hi[RAX];
  const diff = (aLo >>> 0) - dLo;
  cpu.regs.flags.record64(FlagOp.SUB, aLo, aHi, dLo | 0, dHi, diff | 0, (aHi - dHi - (diff < 0 ? 1 : 0)) | 0);
  if (diff === 0 && aHi === dHi) {
    const sLo = readG64(cpu, insn);
    writeE64(cpu, insn, lin, sLo, cpu.valueHi);
    return;
  }
  if (insn.isMem) writeE64(cpu, insn, lin, dLo, dHi);
  setReg64(cpu, RAX, dLo, dHi);
}

function cmpxchgEb(cpu: SoftCpu, insn: Instruction): void {
  cmpxchg(cpu, insn, 1);
}

function cmpxchgEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 8) cmpxchg64(cpu, insn);
  else cmpxchg(cpu, insn, insn.opSize);
}

function xadd(cpu: SoftCpu, insn: Instruction, size: number): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
  const dest = readE(cpu, insn, size, lin);
  const src = readG(cpu, insn, size);
  const sum = dest + src;
  // The source register takes the old destination first, so with one register the sum wins.
  if (insn.isMem) {
    writeE(cpu, insn, size, lin, sum);
    writeG(cpu, insn, size, dest);
  } else {
    writeG(cpu, insn, size, dest);
    writeE(cpu, insn, size, lin, sum);
  }
  cpu.regs.flags.record(FlagOp.ADD, size << 3, dest, src, sum);
}

function xadd64(cpu: SoftCpu, insn: Instruction): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
  const dLo = readE64(cpu, insn, lin);
  const dHi = cpu.valueHi;
  const sLo = readG64(cpu, insn);
  const sHi = cpu.valueHi;
  const s = dLo + sLo;
  const rLo = s | 0;
  const rHi = (dHi + sHi + (s > 0xffffffff ? 1 : 0)) | 0;
  if (insn.isMem) {
    writeE64(cpu, insn, lin, rLo, rHi);
    writeG64(cpu, insn, dLo, dHi);
  } else {
    writeG64(cpu, insn, dLo, dHi);
    writeE64(cpu, insn, lin, rLo, rHi);
  }
  cpu.regs.flags.record64(FlagOp.ADD, dLo | 0, dHi, sLo | 0, sHi, rLo, rHi);
}

function xaddEb(cpu: SoftCpu, insn: Instruction): void {
  xadd(cpu, insn, 1);
}

function xaddEv(cpu: SoftCpu, insn: Instruction): void {
  if (insn.opSize === 8) xadd64(cpu, insn);
  else xadd(cpu, insn, insn.opSize);
}

function cmpxchg8b(cpu: SoftCpu, insn: Instruction): void {
  // REX.W is CMPXCHG16B, absent without CPUID.01H:ECX.CX16.
  if (insn.opSize === 8 || !insn.isMem) raise(Vector.UD);
  const lin = memoryLinear(cpu, insn, 8);
  const lo = readMem64(cpu, lin);
  const hi = cpu.valueHi;
  const g = cpu.regs.gpr;
  const f = cpu.regs.flags;
  const equal = lo === g.r32[RAX] >>> 0 && hi === g.r32[RDX];
  if (equal) writeMem64(cpu, lin, g.r32[RBX], g.r32[RCX]);
  else {
    writeMem64(cpu, lin, lo, hi);
    setRegV(cpu, RAX, 4, lo);
    setRegV(cpu, RDX, 4, hi);
  }
  f.set((f.get() & ~ZF) | (equal ? ZF : 0));
}

export const ATOMIC_HANDLERS: HandlerTable = {
  cmpxchg_Eb_Gb: cmpxchgEb,
  cmpxchg_Ev_Gv: cmpxchgEv,
  xadd_Eb_Gb: xaddEb,
  xadd_Ev_Gv: xaddEv,
  cmpxchg8b_Mqo: cmpxchg8b,
};
