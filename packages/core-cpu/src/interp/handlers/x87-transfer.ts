/**
 * x87 data transfer (SDM Vol. 2): FLD/FST/FSTP in m32fp, m64fp, m80fp and ST(i) forms,
 * FILD/FIST/FISTP (m16/m32/m64int), FBLD/FBSTP, the constants FLD1 ... FLDZ, FXCH, FCMOVcc,
 * FFREE/FFREEP, FINCSTP/FDECSTP. FLD m80 and FSTP m80 copy the bits without conversion (no
 * exception but stack faults); the narrower formats convert with RC (stores ignore PC).
 * FISTTP (SSE3) is not in the decoder table, so it stays #UD.
 */
import { CF, PF, ZF } from '../../alu/lazy-flags.js';
import { fromBcd, toBcd } from '../../fpu/bcd.js';
import { FpuConstant, loadConstant } from '../../fpu/constants.js';
import { fromInt64, Int64Halves, narrowed, toFloat32, toFloat64, toInt } from '../../fpu/convert.js';
import { setIndefinite } from '../../fpu/float80.js';
import type { FpuState } from '../../fpu/fpu-state.js';
import { FSW_C1, FSW_IE, roundingOf } from '../../fpu/round.js';
import type { Handler, HandlerTable } from './types.js';
import { loadSource, Src } from './x87-arith.js';
import {
  OP_A, RES, at, commitStore, enter, enterControl, getSt, isEmpty, memLinear, pop, probeWrite, pushChecked,
  read32, read80, setSt, signal, underflow, write16, write32, write64, write80,
} from './x87-core.js';

const INT = new Int64Halves();
const BCD = new Uint8Array(10);

// ---- loads

/** FLD m32fp/m64fp, FILD m16/m32int: convert, then push (an unmasked IE pushes nothing). */
function loadConverted(src: Src): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    let flags = loadSource(cpu, insn, src, fpu, RES);
    // loadSource hands arithmetic an SNaN as such; a load quiets it and reports IE.
    if ((RES.se & 0x7fff) === 0x7fff && (RES.hi & 0x40000000) === 0 && (RES.hi & 0x7fffffff || RES.lo)) {
      RES.hi = (RES.hi | 0x40000000) >>> 0;
      flags |= FSW_IE;
    }
    if (!isEmpty(fpu, 7)) {
      pushChecked(fpu, RES);
      return;
    }
    // An unmasked IE (SNaN source) pushes nothing; an unmasked DE still loads (measured).
    if (signal(fpu, flags) && flags & FSW_IE & ~fpu.cw) return;
    pushChecked(fpu, RES);
  };
}

const fldM80: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  read80(cpu, memLinear(cpu, insn, 10, fpu), RES);
  pushChecked(fpu, RES);
};

const fildM64: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const lin = memLinear(cpu, insn, 8, fpu);
  const lo = read32(cpu, lin);
  fromInt64(read32(cpu, at(lin, 4)), lo, RES);
  pushChecked(fpu, RES);
};

const fbld: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const lin = memLinear(cpu, insn, 10, fpu);
  for (let k = 0; k < 10; k++) BCD[k] = cpu.mem.read8(at(lin, k));
  fromBcd(BCD, 0, RES);
  pushChecked(fpu, RES);
};

const fldSti: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const i = insn.rm & 7;
  if (isEmpty(fpu, i) && isEmpty(fpu, 7)) {
    if (underflow(fpu)) return;
    setIndefinite(RES);
  } else {
    getSt(fpu, i, RES);
  }
  pushChecked(fpu, RES);
};

function loadConstantHandler(which: FpuConstant): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    loadConstant(which, roundingOf(fpu.cw), RES);
    pushChecked(fpu, RES);
  };
}

// ---- stores

/** ST(0) for a store, or false after a stack underflow (RES then holds the masked response). */
function storeSource(fpu: FpuState): boolean {
  if (isEmpty(fpu, 0)) return false;
  getSt(fpu, 0, OP_A);
  return true;
}

function storeFloat(bits: 32 | 64, popAfter: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const lin = memLinear(cpu, insn, bits >>> 3, fpu);
    let flags: number;
    if (storeSource(fpu)) {
      flags = bits === 32 ? toFloat32(OP_A, roundingOf(fpu.cw)) : toFloat64(OP_A, roundingOf(fpu.cw));
      if (!commitStore(fpu, flags)) return;
    } else {
      if (underflow(fpu)) return;
      narrowed.hi = 0xfff80000;
      narrowed.lo = bits === 32 ? 0xffc00000 : 0;
    }
    if (bits === 32) write32(cpu, lin, narrowed.lo);
    else write64(cpu, lin, narrowed.lo, narrowed.hi);
    if (popAfter) pop(fpu);
  };
}

const fstpM80: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const lin = memLinear(cpu, insn, 10, fpu);
  if (storeSource(fpu)) {
    RES.copyFrom(OP_A);
    fpu.sw &= ~FSW_C1;
  } else {
    if (underflow(fpu)) return;
    setIndefinite(RES);
  }
  write80(cpu, lin, RES);
  pop(fpu);
};

function storeInt(bits: 16 | 32 | 64, popAfter: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const lin = memLinear(cpu, insn, bits >>> 3, fpu);
    if (storeSource(fpu)) {
      if (!commitStore(fpu, toInt(OP_A, bits, roundingOf(fpu.cw), INT))) return;
    } else {
      if (underflow(fpu)) return;
      INT.hi = bits === 64 ? 0x80000000 : 0xffffffff;
      INT.lo = bits === 64 ? 0 : 0x80000000 >> (32 - bits) >>> 0;
    }
    if (bits === 16) write16(cpu, lin, INT.lo);
    else if (bits === 32) write32(cpu, lin, INT.lo);
    else write64(cpu, lin, INT.lo, INT.hi);
    if (popAfter) pop(fpu);
  };
}

const fbstp: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const lin = memLinear(cpu, insn, 10, fpu);
  if (storeSource(fpu)) {
    BCD.fill(0);
    if (!commitStore(fpu, toBcd(OP_A, roundingOf(fpu.cw), BCD, 0))) return;
  } else {
    if (underflow(fpu)) return;
    BCD.fill(0);
    BCD[7] = 0xc0;
    BCD[8] = 0xff;
    BCD[9] = 0xff;
  }
  probeWrite(cpu, lin, 10);
  for (let k = 0; k < 10; k++) cpu.mem.write8(at(lin, k), BCD[k]);
  pop(fpu);
};

function storeSti(popAfter: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    if (storeSource(fpu)) {
      RES.copyFrom(OP_A);
      fpu.sw &= ~FSW_C1;
    } else {
      if (underflow(fpu)) return;
      setIndefinite(RES);
    }
    setSt(fpu, insn.rm & 7, RES);
    if (popAfter) pop(fpu);
  };
}

// ---- register moves and stack control

const fxch: Handler = (cpu, insn) => {
  const fpu = enter(cpu, insn);
  const i = insn.rm & 7;
  if (isEmpty(fpu, 0) || isEmpty(fpu, i)) {
    if (underflow(fpu)) return;
    if (isEmpty(fpu, 0)) setSt(fpu, 0, setIndefiniteIn(RES));
    if (isEmpty(fpu, i)) setSt(fpu, i, setIndefiniteIn(RES));
  } else {
    fpu.sw &= ~FSW_C1;
  }
  getSt(fpu, 0, OP_A);
  getSt(fpu, i, RES);
  setSt(fpu, 0, RES);
  setSt(fpu, i, OP_A);
};

function setIndefiniteIn(v: typeof RES): typeof RES {
  setIndefinite(v);
  return v;
}

/** FCMOVcc: `cond` reads EFLAGS (CF ZF PF masks), `negate` for the N forms. */
function fcmov(mask: number, negate: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enter(cpu, insn);
    const i = insn.rm & 7;
    if (isEmpty(fpu, 0) || isEmpty(fpu, i)) {
      if (underflow(fpu)) return;
      setIndefinite(RES);
      setSt(fpu, 0, RES);
      return;
    }
    fpu.sw &= ~FSW_C1;
    const taken = (cpu.regs.flags.get() & mask) !== 0;
    if (taken !== negate) setSt(fpu, 0, getSt(fpu, i, RES));
  };
}

function ffree(popAfter: boolean): Handler {
  return (cpu, insn) => {
    const fpu = enterControl(cpu);
    fpu.valid &= ~(1 << fpu.phys(insn.rm & 7));
    if (popAfter) pop(fpu);
  };
}

function stepTop(delta: number): Handler {
  return (cpu) => {
    const fpu = enterControl(cpu);
    fpu.top = (fpu.top + delta) & 7;
    fpu.sw &= ~FSW_C1;
  };
}

export const X87_TRANSFER_HANDLERS: HandlerTable = {
  fld_M32fp: loadConverted(Src.F32),
  fld_M64fp: loadConverted(Src.F64),
  fld_M80fp: fldM80,
  fld_STi: fldSti,
  fild_M16int: loadConverted(Src.I16),
  fild_M32int: loadConverted(Src.I32),
  fild_M64int: fildM64,
  fbld_M80bcd: fbld,
  fld1: loadConstantHandler(FpuConstant.One),
  fldl2t: loadConstantHandler(FpuConstant.Log2Ten),
  fldl2e: loadConstantHandler(FpuConstant.Log2E),
  fldpi: loadConstantHandler(FpuConstant.Pi),
  fldlg2: loadConstantHandler(FpuConstant.Log10Two),
  fldln2: loadConstantHandler(FpuConstant.LnTwo),
  fldz: loadConstantHandler(FpuConstant.Zero),
  fst_M32fp: storeFloat(32, false),
  fstp_M32fp: storeFloat(32, true),
  fst_M64fp: storeFloat(64, false),
  fstp_M64fp: storeFloat(64, true),
  fstp_M80fp: fstpM80,
  fist_M16int: storeInt(16, false),
  fistp_M16int: storeInt(16, true),
  fist_M32int: storeInt(32, false),
  fistp_M32int: storeInt(32, true),
  fistp_M64int: storeInt(64, true),
  fbstp_M80bcd: fbstp,
  fst_STi: storeSti(false),
  fstp_STi: storeSti(true),
  fxch_STi: fxch,
  fcmovb_ST_STi: fcmov(CF, false),
  fcmove_ST_STi: fcmov(ZF, false),
  fcmovbe_ST_STi: fcmov(CF | ZF, false),
  fcmovu_ST_STi: fcmov(PF, false),
  fcmovnb_ST_STi: fcmov(CF, true),
  fcmovne_ST_STi: fcmov(ZF, true),
  fcmovnbe_ST_STi: fcmov(CF | ZF, true),
  fcmovnu_ST_STi: fcmov(PF, true),
  ffree_STi: ffree(false),
  ffreep_STi: ffree(true),
  fincstp: stepTop(1),
  fdecstp: stepTop(-1),
};

