/**
 * x87 arithmetic and comparison (SDM Vol. 2: FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR and their P and I
 * forms, FCOM, FCOMP, FCOMPP, FUCOM(P)(P), FICOM(P), FCOMI(P), FUCOMI(P), FTST). The numeric work is the
 * fpu/ library's; here: operand fetch (registers, m32fp/m64fp/m16int/m32int), stack faults,
 * FSW merging, and where the result goes.
 *
 * A memory operand in single or double format that is an SNaN is loaded as the SNaN (quiet bit
 * clear), so the operation sees it and applies the x87 NaN rules (an SNaN with a QNaN gives
 * the QNaN), as the hardware does with its unconverted operand.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { CF, OF, PF, SF, ZF, AF } from '../../alu/lazy-flags.js';
import { addSub, div, mul } from '../../fpu/arith.js';
import { compare, CC_UNORDERED } from '../../fpu/compare.js';
import { fromFloat32, fromFloat64, fromInt32 } from '../../fpu/convert.js';
import { Float80, QUIET_BIT, isNaN80, isUnsupported80, setIndefinite, setZero } from '../../fpu/float80.js';
import type { FpuState } from '../../fpu/fpu-state.js';
import { FSW_C0, FSW_C1, FSW_C2, FSW_C3, FSW_DE, FSW_EXCEPTIONS, FSW_IE, FSW_ZE } from '../../fpu/round.js';
import type { SoftCpu } from '../soft-cpu.js';
import type { Handler, HandlerTable } from './types.js';
import {
  OP_A, OP_B, RES, at, commit, enter, getSt, isEmpty, memLinear, pop, read16, read32, setSt, signal, underflow,
} from './x87-core.js';

enum Op { Add, Mul, Sub, Subr, Div, Divr }
const OPS = [Op.Add, Op.Mul, -1, -1, Op.Sub, Op.Subr, Op.Div, Op.Divr];
const NAMES = ['add', 'mul', 'com', 'comp', 'sub', 'subr', 'div', 'divr'];

/** Memory operand formats of the arithmetic group. */
export enum Src { F32, F64, I32, I16 }
const SRC_SIZE = [4, 8, 4, 2];

function arith(op: Op, a: Float80, b: Float80, cw: number, out: Float80): number {
  switch (op) {
    case Op.Add: return addSub(a, b, 0, cw, out);
    case Op.Sub: return addSub(a, b, 1, cw, out);
    case Op.Subr: return addSub(b, a, 1, cw, out);
    case Op.Mul: return mul(a, b, cw, out);
    case Op.Div: return div(a, b, cw, out);
    default: return div(b, a, cw, out);
  }
}

/** Reads and converts a memory operand into `out`; returns the conversion's FSW bits. */
export function loadSource(cpu: SoftCpu, insn: Instruction, src: Src, fpu: FpuState, out: Float80): number {
  const lin = memLinear(cpu, insn, SRC_SIZE[src], fpu);
  let flags = 0;
  switch (src) {
    case Src.F32:
      flags = fromFloat32(read32(cpu, lin), out);
      break;
    case Src.F64: {
      const lo = read32(cpu, lin);
      flags = fromFloat64(read32(cpu, at(lin, 4)), lo, out);
      break;
    }
    case Src.I32:
      fromInt32(read32(cpu, lin) | 0, out);
      break;
    default:
      fromInt32((read16(cpu, lin) << 16) >> 16, out);
      break;
  }
  // An SNaN source: hand the operation the SNaN itself (it raises IE and quiets it).
  if (flags & FSW_IE) out.hi = (out.hi & ~QUIET_BIT) >>> 0;
  return flags & ~FSW_IE;
}

// ---- arithmetic

/** ST(dest) = ST(dest) op ST(src); pops after when `popAfter`. */
function arithRegister(op: Op, destIsSti: boolean, popAfter: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const i = insn.rm & 7;
    const dest = destIsSti ? i : 0;
    const src = destIsSti ? 0 : i;
    if (isEmpty(fpu, dest) || isEmpty(fpu, src)) {
      if (underflow(fpu)) return;
      setIndefinite(RES);
    } else {
      getSt(fpu, dest, OP_A);
      getSt(fpu, src, OP_B);
      if (!commit(fpu, arith(op, OP_A, OP_B, fpu.cw, RES), 0)) return;
    }
    setSt(fpu, dest, RES);
    if (popAfter) pop(fpu);
  };
}

/** ST(0) = ST(0) op m. */
function arithMemory(op: Op, src: Src): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const conv = loadSource(cpu, insn, src, fpu, OP_B);
    if (isEmpty(fpu, 0)) {
      if (underflow(fpu)) return;
      setIndefinite(RES);
    } else {
      getSt(fpu, 0, OP_A);
      const flags = arith(op, OP_A, OP_B, fpu.cw, RES);
      // A zero divisor reports ZE alone, without a denormal dividend's DE (measured).
      if (!commit(fpu, flags | (flags & FSW_ZE ? 0 : conversionFlags(OP_A, OP_B, conv)), 0)) return;
    }
    setSt(fpu, 0, RES);
  };
}

// ---- comparisons

const CC3 = FSW_C0 | FSW_C2 | FSW_C3;

/**
 * Sets C3 C2 C0 from a comparison's FSW bits (C1 cleared). The hardware sets the condition
 * codes even when the comparison raised an unmasked exception (measured); it then skips the
 * pops. Returns false in that case.
 */
function commitCompare(fpu: FpuState, flags: number): boolean {
  fpu.sw = (fpu.sw & ~(CC3 | FSW_C1)) | (flags & CC3);
  return !(signal(fpu, flags & FSW_EXCEPTIONS) && flags & (FSW_IE | FSW_DE) & ~fpu.cw);
}

/** Comparison result for an empty operand: unordered, IE + SF. */
function compareUnderflow(fpu: FpuState): boolean {
  fpu.sw |= CC3;
  return !underflow(fpu);
}

/** A memory operand's DE does not count when the comparison or operation meets a NaN first. */
function conversionFlags(a: Float80, b: Float80, conv: number): number {
  return isNaN80(a) || isNaN80(b) || isUnsupported80(a) ? conv & ~FSW_DE : conv;
}

/** FCOM/FUCOM ST(0) with ST(i) (or ST(1) for FCOMPP/FUCOMPP); pops `pops` times. */
function compareRegister(unordered: boolean, pops: number, fixedIndex: number): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const i = fixedIndex >= 0 ? fixedIndex : insn.rm & 7;
    let ok: boolean;
    if (isEmpty(fpu, 0) || isEmpty(fpu, i)) ok = compareUnderflow(fpu);
    else ok = commitCompare(fpu, compare(getSt(fpu, 0, OP_A), getSt(fpu, i, OP_B), unordered));
    if (!ok) return;
    for (let k = 0; k < pops; k++) pop(fpu);
  };
}

function compareMemory(src: Src, pops: number): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const conv = loadSource(cpu, insn, src, fpu, OP_B);
    let ok: boolean;
    if (isEmpty(fpu, 0)) ok = compareUnderflow(fpu);
    else ok = commitCompare(fpu, compare(getSt(fpu, 0, OP_A), OP_B, false) | conversionFlags(OP_A, OP_B, conv));
    if (ok && pops) pop(fpu);
  };
}

/** FTST: ST(0) against +0.0. */
const ftst: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  if (isEmpty(fpu, 0)) {
    compareUnderflow(fpu);
    return;
  }
  setZero(OP_B, 0);
  commitCompare(fpu, compare(getSt(fpu, 0, OP_A), OP_B, false));
};

/**
 * FCOMI/FUCOMI(P): the result goes to ZF PF CF (OF SF AF cleared); C1 is cleared and
 * C0 C2 C3 are left alone.
 */
function compareToEflags(unordered: boolean, popAfter: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const i = insn.rm & 7;
    let cc: number;
    let trapped: boolean;
    if (isEmpty(fpu, 0) || isEmpty(fpu, i)) {
      trapped = underflow(fpu);
      cc = CC_UNORDERED;
    } else {
      const flags = compare(getSt(fpu, 0, OP_A), getSt(fpu, i, OP_B), unordered);
      fpu.sw &= ~FSW_C1;
      trapped = signal(fpu, flags & FSW_EXCEPTIONS) && (flags & (FSW_IE | FSW_DE) & ~fpu.cw) !== 0;
      cc = flags;
    }
    const f = cpu.regs.flags;
    const e = f.get() & ~(OF | SF | ZF | AF | PF | CF);
    f.set(e | (cc & FSW_C3 ? ZF : 0) | (cc & FSW_C2 ? PF : 0) | (cc & FSW_C0 ? CF : 0));
    if (popAfter && !trapped) pop(fpu);
  };
}

export const X87_ARITH_HANDLERS: HandlerTable = {
  fcom_STi: compareRegister(false, 0, -1),
  fcomp_STi: compareRegister(false, 1, -1),
  fucom_STi: compareRegister(true, 0, -1),
  fucomp_STi: compareRegister(true, 1, -1),
  fcompp: compareRegister(false, 2, 1),
  fucompp: compareRegister(true, 2, 1),
  ftst,
  fcomi_ST_STi: compareToEflags(false, false),
  fucomi_ST_STi: compareToEflags(true, false),
  fcomip_ST_STi: compareToEflags(false, true),
  fucomip_ST_STi: compareToEflags(true, true),
};

const MEM_FORMS: [Src, string, string][] = [
  [Src.F32, 'f', 'M32fp'], [Src.F64, 'f', 'M64fp'], [Src.I32, 'fi', 'M32int'], [Src.I16, 'fi', 'M16int'],
];
for (const [src, prefix, operand] of MEM_FORMS) {
  NAMES.forEach((name, reg) => {
    const key = `${prefix}${name}_${operand}`;
    const op = OPS[reg];
    X87_ARITH_HANDLERS[key] = op >= 0 ? arithMemory(op, src) : compareMemory(src, reg === 3 ? 1 : 0);
  });
}
for (const [name, op] of [['add', Op.Add], ['mul', Op.Mul], ['sub', Op.Sub], ['subr', Op.Subr], ['div', Op.Div], ['divr', Op.Divr]] as const) {
  X87_ARITH_HANDLERS[`f${name}_ST_STi`] = arithRegister(op, false, false);
  X87_ARITH_HANDLERS[`f${name}_STi_ST`] = arithRegister(op, true, false);
  X87_ARITH_HANDLERS[`f${name}p_STi_ST`] = arithRegister(op, true, true);
}
