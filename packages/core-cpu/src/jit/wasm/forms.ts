/**
 * The instructions a WebAssembly translation writes: register-forms.ts's, instruction for
 * instruction the same results, flag records and fault order (memory read before anything is
 * written, nothing written before the last access that may fault). Anything else is
 * `Unsupported` (the block is translated to JavaScript instead).
 */
import { CF, FlagOp, OF } from '../../alu/lazy-flags.js';
import { CpuMode, PREFIX_REP, PREFIX_REPNE, type Instruction } from '../../decoder/instruction.js';
import { FLAGS_KEEP_CARRY, FLAGS_RECORD, FLAGS_RESULT, RUNTIME_FLAGS } from '../flag-state.js';
import { callTarget } from '../direct-emitters.js';
import { keyParts } from '../key-parts.js';
import { opSizeOf, SIZE_MASK } from '../register-forms.js';
import { MUL_EAGER } from '../../interp/handlers/muldiv.js';
import { SHIFT_EAGER } from '../../interp/handlers/shift.js';
import { carryOf, conditionCode, runtimeCarry, runtimeConditionCode } from './conditions.js';
import { flagDescriptor, L, UNLIKELY } from './code.js';
import { STATUS, Unsupported, type WasmContext } from './context.js';
import { IMPORT } from './imports.js';
import { Op } from './encoder.js';


type AluOp = { op: FlagOp; code: number[]; carry: 'add' | 'sub' | null; writes: boolean };
const ALU: Record<string, AluOp> = {
  add: { op: FlagOp.ADD, code: [Op.i32Add], carry: null, writes: true },
  adc: { op: FlagOp.ADD, code: [Op.i32Add], carry: 'add', writes: true },
  sub: { op: FlagOp.SUB, code: [Op.i32Sub], carry: null, writes: true },
  sbb: { op: FlagOp.SUB, code: [Op.i32Sub], carry: 'sub', writes: true },
  cmp: { op: FlagOp.SUB, code: [Op.i32Sub], carry: null, writes: false },
  and: { op: FlagOp.LOGIC, code: [Op.i32And], carry: null, writes: true },
  or: { op: FlagOp.LOGIC, code: [Op.i32Or], carry: null, writes: true },
  xor: { op: FlagOp.LOGIC, code: [Op.i32Xor], carry: null, writes: true },
  test: { op: FlagOp.LOGIC, code: [Op.i32And], carry: null, writes: false },
};

/** The r/m operand: a register, or memory at the linear-address local (`prepare` sets it). */
class RmOperand {
  private seg = -1;
  /** Loaded by `loadForUpdate`: the store writes back through the same TLB lookup. */
  private updating = false;

  constructor(
    private readonly ctx: WasmContext,
    private readonly insn: Instruction,
    readonly size: number,
  ) {}

  prepare(): void {
    if (this.insn.isMem) this.seg = this.ctx.linear(this.insn);
  }

  /** The operand's value (zero-extended) into local `into`. */
  load(into: number): void {
    if (!this.insn.isMem) {
      this.ctx.reg(this.insn.rm, this.size);
      this.ctx.code.set(into);
      return;
    }
    this.ctx.read(this.size, into, this.seg);
  }

  /** As `load`, for an operand `store` then writes (a read-modify-write). */
  loadForUpdate(into: number): void {
    if (!this.insn.isMem) {
      this.load(into);
      return;
    }
    this.ctx.readForUpdate(this.size, into, this.seg);
    this.updating = true;
  }

  /** Stores local `value` (its low `size` bytes). */
  store(value: number): void {
    if (!this.insn.isMem) {
      this.ctx.setReg(this.insn.rm, this.size, () => this.ctx.code.get(value));
      return;
    }
    if (this.updating) this.ctx.writeBack(this.size, value, this.seg);
    else this.ctx.write(this.size, value, this.seg);
  }
}

/**
 * The flag record of an ALU operation. AND, OR, XOR and TEST (LOGIC) take every flag from the
 * result (CF = OF = AF = 0, as LazyFlags has them), so their operands are not kept: constants
 * instead, which do not keep two values alive to the next flag-setting instruction (each slow
 * path may exit with the record, so TurboFan holds the record's values across every access).
 */
function recordFlags(ctx: WasmContext, op: FlagOp, bits: number, a: number, b: number, r: number, plain: boolean): void {
  ctx.flags = { kind: 'record', op, bits, plain, keepCarry: false };
  const c = ctx.code.setConst(L.fk, flagDescriptor(FLAGS_RECORD, op, bits));
  if (op === FlagOp.LOGIC) c.setConst(L.fa, 0).setConst(L.fb, 0);
  else c.get(a).set(L.fa).get(b).set(L.fb);
  c.get(r).set(L.fr);
}

/** The flags of a shift or multiply: the result in fr, the eager flags (pushed by `eager`) in fa, their mask in fb. */
function resultFlags(ctx: WasmContext, bits: number, r: number, eager: () => void, mask: number): void {
  ctx.flags = { kind: 'result', bits, mask };
  const c = ctx.code;
  c.setConst(L.fk, flagDescriptor(FLAGS_RESULT, 0, bits)).get(r).set(L.fr);
  eager();
  c.set(L.fa).setConst(L.fb, mask);
}

/** CF (0/1) into local c, from LazyFlags when the locals cannot tell. */
function carryIn(ctx: WasmContext): void {
  const c = ctx.code;
  const known = carryOf(ctx.flags);
  if (known !== null) known(c);
  else if (ctx.flags.kind === 'runtime') {
    // At a case label: from the locals' record, or LazyFlags when they hold none (fk = 0).
    c.flagKind().op(Op.i32Eqz).ifValue(() => c.call(IMPORT.carry), () => runtimeCarry(c));
  } else {
    ctx.materialize();
    c.call(IMPORT.carry);
  }
  c.set(L.c);
}

/** Pushes condition `cc` (0/1), reading LazyFlags when the locals cannot tell. */
export function condition(ctx: WasmContext, cc: number): void {
  const c = ctx.code;
  const known = conditionCode(ctx.flags, cc);
  if (known !== null) {
    known(c);
    return;
  }
  const atRuntime = ctx.flags.kind === 'runtime' ? runtimeConditionCode(cc) : null;
  if (atRuntime !== null) {
    c.flagKind().op(Op.i32Eqz).ifValue(() => c.i32(cc).call(IMPORT.condition), () => atRuntime(c));
    return;
  }
  ctx.materialize();
  c.i32(cc).call(IMPORT.condition);
}


function alu(ctx: WasmContext, insn: Instruction, name: string, form: string): void {
  const a = ALU[name];
  const size = opSizeOf(insn);
  const imm = size === 4 ? insn.imm | 0 : insn.imm & SIZE_MASK[size];
  const c = ctx.code;
  let store: (() => void) | null = null;
  switch (form) {
    case 'Eb_Gb': case 'Ev_Gv': case 'Eb_Ib': case 'Ev_Iz': case 'Ev_Ibs': {
      const rm = new RmOperand(ctx, insn, size);
      rm.prepare();
      if (a.writes) rm.loadForUpdate(L.a);
      else rm.load(L.a);
      if (form.endsWith('Gb') || form.endsWith('Gv')) {
        ctx.reg(insn.reg, size);
        c.set(L.b);
      } else c.setConst(L.b, imm);
      store = () => rm.store(L.v);
      break;
    }
    case 'Gb_Eb': case 'Gv_Ev': {
      const src = new RmOperand(ctx, insn, size);
      src.prepare();
      src.load(L.b);
      ctx.reg(insn.reg, size);
      c.set(L.a);
      store = () => ctx.setReg(insn.reg, size, () => c.get(L.v));
      break;
    }
    case 'AL_Ib': case 'rAX_Iz':
      ctx.reg(0, size);
      c.set(L.a).setConst(L.b, imm);
      store = () => ctx.setReg(0, size, () => c.get(L.v));
      break;
    default:
      throw new Unsupported(`${name}_${form}`);
  }
  if (a.carry !== null) carryIn(ctx);
  c.get(L.a).get(L.b).op(...a.code);
  if (a.carry !== null) c.get(L.c).op(a.carry === 'add' ? Op.i32Add : Op.i32Sub);
  c.set(L.v);
  if (a.writes) store();
  recordFlags(ctx, a.op, size * 8, L.a, L.b, L.v, a.carry === null);
}

function incDec(ctx: WasmContext, inc: boolean, load: () => void, store: () => void, size: number): void {
  const c = ctx.code;
  load();
  carryIn(ctx);
  c.get(L.a).i32(1).op(inc ? Op.i32Add : Op.i32Sub).set(L.v);
  store();
  const op = inc ? FlagOp.ADD : FlagOp.SUB;
  ctx.flags = { kind: 'record', op, bits: size * 8, plain: true, keepCarry: true };
  c.setConst(L.fk, flagDescriptor(FLAGS_KEEP_CARRY, op, size * 8)).get(L.a).set(L.fa).setConst(L.fb, 1).get(L.v).set(L.fr).get(L.c).set(L.fc);
}

/** SHL/SHR/SAR by a constant: 32-bit operands, and 16-bit ones shifted by less than 16. */
function shift(ctx: WasmContext, insn: Instruction, kind: string, count: number): void {
  const n = count & 31;
  const size = insn.opSize;
  if (size !== 4 && !(size === 2 && n < 16)) throw new Unsupported('shift size');
  if (n === 0) {
    if (insn.isMem) throw new Unsupported('shift by 0 in memory');
    return;
  }
  const rm = new RmOperand(ctx, insn, size);
  rm.prepare();
  rm.loadForUpdate(L.a);
  const c = ctx.code;
  const top = size * 8 - 1;
  // Sign-extends a 16-bit `a` for SAR.
  const signed16 = (): void => { c.get(L.a).i32(16).op(Op.i32Shl).i32(16).op(Op.i32ShrS); };
  let eager: () => void;
  switch (kind) {
    case 'shl':
      c.get(L.a).i32(n).op(Op.i32Shl);
      if (size !== 4) c.i32(65535).op(Op.i32And);
      eager = () => c.get(L.a).i32(top + 1 - n).op(Op.i32ShrU).i32(1).op(Op.i32And)
        .get(L.a).i32(top).op(Op.i32ShrU).get(L.a).i32(top - 1).op(Op.i32ShrU, Op.i32Xor).i32(1).op(Op.i32And).i32(11).op(Op.i32Shl, Op.i32Or);
      break;
    case 'shr':
      c.get(L.a).i32(n).op(Op.i32ShrU);
      eager = () => c.get(L.a).i32(n - 1).op(Op.i32ShrU).i32(1).op(Op.i32And).get(L.a).i32(top).op(Op.i32ShrU).i32(11).op(Op.i32Shl, Op.i32Or);
      break;
    case 'sar':
      if (size === 4) {
        c.get(L.a).i32(n).op(Op.i32ShrS);
        eager = () => c.get(L.a).i32(n - 1).op(Op.i32ShrS).i32(1).op(Op.i32And);
      } else {
        signed16();
        c.i32(n).op(Op.i32ShrS).i32(65535).op(Op.i32And);
        eager = () => { signed16(); c.i32(n - 1).op(Op.i32ShrS).i32(1).op(Op.i32And); };
      }
      break;
    default:
      throw new Unsupported(kind);
  }
  c.set(L.v);
  rm.store(L.v);
  resultFlags(ctx, size * 8, L.v, eager, SHIFT_EAGER);
}

/** SHL/SHR/SAR r32, CL: a zero count changes nothing, so the flags are known only at run time. */
function shiftByCl(ctx: WasmContext, insn: Instruction, kind: string): void {
  if (insn.opSize !== 4 || insn.isMem) throw new Unsupported('shift by CL');
  const c = ctx.code;
  ctx.reg(insn.rm, 4);
  c.set(L.a);
  ctx.reg(1, 1);
  c.i32(31).op(Op.i32And).tee(L.s);
  c.if(() => {
    if (kind === 'shl') c.get(L.a).get(L.s).op(Op.i32Shl);
    else if (kind === 'shr') c.get(L.a).get(L.s).op(Op.i32ShrU);
    else c.get(L.a).get(L.s).op(Op.i32ShrS);
    c.set(L.v);
    ctx.setReg(insn.rm, 4, () => c.get(L.v));
    c.setConst(L.fk, flagDescriptor(FLAGS_RESULT, 0, 32)).get(L.v).set(L.fr);
    if (kind === 'shl') {
      c.get(L.a).i32(32).get(L.s).op(Op.i32Sub, Op.i32ShrU).i32(1).op(Op.i32And)
        .get(L.a).i32(31).op(Op.i32ShrU).get(L.a).i32(30).op(Op.i32ShrU, Op.i32Xor).i32(1).op(Op.i32And).i32(11).op(Op.i32Shl, Op.i32Or);
    } else if (kind === 'shr') {
      c.get(L.a).get(L.s).i32(1).op(Op.i32Sub, Op.i32ShrU).i32(1).op(Op.i32And).get(L.a).i32(31).op(Op.i32ShrU).i32(11).op(Op.i32Shl, Op.i32Or);
    } else {
      c.get(L.a).get(L.s).i32(1).op(Op.i32Sub, Op.i32ShrS).i32(1).op(Op.i32And);
    }
    c.set(L.fa).setConst(L.fb, SHIFT_EAGER);
  });
  ctx.flags = RUNTIME_FLAGS;
}

/**
 * SHLD/SHRD r32, r32 by an immediate or CL (shift-variants.ts's shld32, shrd32): the count
 * masked to 5 bits, none changing nothing (flags included, so by CL the flags are known only at
 * run time, as shiftByCl's); CF is the last bit shifted out of the destination, OF as the
 * handlers compute it, SF ZF PF from the result.
 */
function doubleShift(ctx: WasmContext, insn: Instruction, left: boolean, byCl: boolean): void {
  if (insn.opSize !== 4 || insn.isMem) throw new Unsupported('double shift');
  const n = insn.imm & 31;
  if (!byCl && n === 0) return;
  const c = ctx.code;
  ctx.reg(insn.rm, 4);
  c.set(L.a);
  ctx.reg(insn.reg, 4);
  c.set(L.b);
  // The count, 32 less it, and one less it: constants, or from the count in local s.
  const count = (): void => { if (byCl) c.get(L.s); else c.i32(n); };
  const rest = (): void => { if (byCl) c.i32(32).get(L.s).op(Op.i32Sub); else c.i32(32 - n); };
  const less = (): void => { if (byCl) c.get(L.s).i32(1).op(Op.i32Sub); else c.i32(n - 1); };
  const result = (): void => {
    if (left) {
      c.get(L.a); count(); c.op(Op.i32Shl);
      c.get(L.b); rest(); c.op(Op.i32ShrU, Op.i32Or);
    } else {
      c.get(L.a); count(); c.op(Op.i32ShrU);
      c.get(L.b); rest(); c.op(Op.i32Shl, Op.i32Or);
    }
    c.set(L.v);
    ctx.setReg(insn.rm, 4, () => c.get(L.v));
  };
  const eager = (): void => {
    if (left) {
      c.get(L.a); rest(); c.op(Op.i32ShrU).i32(1).op(Op.i32And);
      c.get(L.a).i32(31).op(Op.i32ShrU).get(L.a).i32(30).op(Op.i32ShrU, Op.i32Xor);
    } else {
      c.get(L.a); less(); c.op(Op.i32ShrU).i32(1).op(Op.i32And);
      c.get(L.a).i32(31).op(Op.i32ShrU).get(L.b).op(Op.i32Xor);
    }
    c.i32(1).op(Op.i32And).i32(11).op(Op.i32Shl, Op.i32Or);
  };
  if (!byCl) {
    result();
    resultFlags(ctx, 32, L.v, eager, SHIFT_EAGER);
    return;
  }
  ctx.reg(1, 1);
  c.i32(31).op(Op.i32And).tee(L.s);
  c.if(() => {
    result();
    c.setConst(L.fk, flagDescriptor(FLAGS_RESULT, 0, 32)).get(L.v).set(L.fr);
    eager();
    c.set(L.fa).setConst(L.fb, SHIFT_EAGER);
  });
  ctx.flags = RUNTIME_FLAGS;
}

/**
 * ROL/ROR of a register by a constant (shift-variants.ts's rol32 ... ror16). A rotate writes
 * CF (and OF when the count is 1 or the form is D1) and leaves the other flags as they were:
 * over a record in the locals that is CF kept beside the record (kind 2) or CF (and OF) in a
 * result record's eager flags; over anything else the flags go to LazyFlags and the host sets
 * the bits there, as the handler does.
 */
function rotate(ctx: WasmContext, insn: Instruction, left: boolean, count: number, keepOf: boolean): void {
  const size = insn.opSize;
  if (insn.isMem || (size !== 4 && size !== 2)) throw new Unsupported('rotate');
  const n = count & 31;
  if (n === 0) return;
  const c = ctx.code;
  ctx.reg(insn.rm, size);
  c.set(L.a);
  if (size === 4) c.get(L.a).i32(n).op(left ? Op.i32Rotl : Op.i32Rotr);
  else {
    const k = n & 15;
    if (k === 0) c.get(L.a);
    else if (left) c.get(L.a).i32(k).op(Op.i32Shl).get(L.a).i32(16 - k).op(Op.i32ShrU, Op.i32Or).i32(65535).op(Op.i32And);
    else c.get(L.a).i32(k).op(Op.i32ShrU).get(L.a).i32(16 - k).op(Op.i32Shl, Op.i32Or).i32(65535).op(Op.i32And);
  }
  c.set(L.v);
  ctx.setReg(insn.rm, size, () => c.get(L.v));
  const top = size * 8 - 1;
  // CF: the bit rotated into the low end (ROL) or the top (ROR).
  if (left) c.get(L.v).i32(1).op(Op.i32And);
  else c.get(L.v).i32(top).op(Op.i32ShrU).i32(1).op(Op.i32And);
  c.set(L.c);
  const withOf = !(keepOf && n !== 1);
  if (withOf) {
    // OF as the handlers compute it, from the operand's top bits.
    if (left) c.get(L.a).i32(top).op(Op.i32ShrU).get(L.a).i32(top - 1).op(Op.i32ShrU, Op.i32Xor).i32(1).op(Op.i32And);
    else c.get(L.a).i32(top).op(Op.i32ShrU).get(L.a).op(Op.i32Xor).i32(1).op(Op.i32And);
    c.set(L.s);
  }
  const f = ctx.flags;
  if (f.kind === 'result' && (f.mask & (CF | OF)) === (CF | OF)) {
    c.get(L.fa).i32(withOf ? ~(CF | OF) : ~CF).op(Op.i32And).get(L.c).op(Op.i32Or);
    if (withOf) c.get(L.s).i32(11).op(Op.i32Shl, Op.i32Or);
    c.set(L.fa);
    return;
  }
  if (f.kind === 'record' && !withOf) {
    ctx.flags = { ...f, keepCarry: true };
    c.setConst(L.fk, flagDescriptor(FLAGS_KEEP_CARRY, f.op, f.bits)).get(L.c).set(L.fc);
    return;
  }
  ctx.materialize();
  c.get(L.c);
  if (withOf) c.get(L.s).i32(1);
  else c.i32(0).i32(0);
  c.call(IMPORT.rotateFlags);
}

/** Pushes local `value` on the 32-bit stack. */
function push32(ctx: WasmContext, value: number): void {
  const c = ctx.code;
  const seg = ctx.stackLinear(() => c.get(L.e0 + 4).i32(4).op(Op.i32Sub), -4);
  ctx.write(4, value, seg);
  ctx.adjustRegister(4, -4, () => c.get(L.lin));
}

/** Pops a dword from the 32-bit stack into local `into`. */
function pop32(ctx: WasmContext, into: number): void {
  const c = ctx.code;
  const seg = ctx.stackLinear(() => c.get(L.e0 + 4), 0);
  ctx.read(4, into, seg);
  ctx.adjustRegister(4, 4, () => c.get(L.e0 + 4).i32(4).op(Op.i32Add));
}

/**
 * CALL rel32 and RET (and indirect CALL/JMP) as a block's last instruction, as
 * register-forms.ts's nearTransfer: `toMember(target)` writes the branch into the translation
 * and returns true, or returns false (then an exit); after RET or an indirect transfer,
 * `afterReturn` tests the new RIP (in the x local) against the translation's blocks. Returns
 * false for other instructions.
 */
export function nearTransfer(ctx: WasmContext, insn: Instruction, next: number, toMember: (target: number) => boolean, afterReturn: () => void): boolean {
  if (insn.mode === CpuMode.Bits64 || insn.opSize !== 4 || !ctx.stack32) return false;
  const c = ctx.code;
  const target = callTarget(insn, next);
  if (target !== null) {
    c.setConst(L.t, next | 0);
    push32(ctx, L.t);
    if (!toMember(target)) ctx.exitAfter(target);
    return true;
  }
  const key = insn.entry.key;
  if (key === 'ret') {
    pop32(ctx, L.x);
  } else if (key === 'call_Ev' || key === 'jmp_Ev') {
    const rm = new RmOperand(ctx, insn, 4);
    rm.prepare();
    rm.load(L.x);
    if (key === 'call_Ev') {
      c.setConst(L.t, next | 0);
      push32(ctx, L.t);
    }
  } else return false;
  afterReturn();
  ctx.exitAfter(null);
  return true;
}

function imul(ctx: WasmContext, insn: Instruction, withImmediate: boolean): void {
  if (insn.opSize !== 4) throw new Unsupported('imul size');
  const c = ctx.code;
  const rm = new RmOperand(ctx, insn, 4);
  rm.prepare();
  rm.load(L.s);
  if (withImmediate) c.get(L.s).set(L.a).setConst(L.b, insn.imm | 0);
  else {
    ctx.reg(insn.reg, 4);
    c.set(L.a).get(L.s).set(L.b);
  }
  c.get(L.a).get(L.b).op(Op.i32Mul).set(L.v);
  ctx.setReg(insn.reg, 4, () => c.get(L.v));
  // CF = OF = the exact product is not the low dword's sign extension.
  resultFlags(ctx, 32, L.v, () => {
    c.i32(CF | OF).i32(0);
    c.get(L.a).op(Op.i64ExtendI32S).get(L.b).op(Op.i64ExtendI32S, Op.i64Mul).get(L.v).op(Op.i64ExtendI32S, Op.i64Ne);
    c.op(Op.select);
  }, MUL_EAGER);
}

/** MUL/IMUL r/m32 with one operand: EDX:EAX = EAX * source. */
function widening(ctx: WasmContext, insn: Instruction, signed: boolean): void {
  if (insn.opSize !== 4) throw new Unsupported('mul size');
  const c = ctx.code;
  const rm = new RmOperand(ctx, insn, 4);
  rm.prepare();
  rm.load(L.s);
  const extend = signed ? Op.i64ExtendI32S : Op.i64ExtendI32U;
  c.get(L.e0).op(extend).get(L.s).op(extend, Op.i64Mul).set(L.p);
  c.get(L.p).op(Op.i32WrapI64).set(L.v);
  c.get(L.p).op(Op.i64Const, 32, signed ? Op.i64ShrS : Op.i64ShrU, Op.i32WrapI64).set(L.t);
  ctx.setReg(0, 4, () => c.get(L.v));
  ctx.setReg(2, 4, () => c.get(L.t));
  resultFlags(ctx, 32, L.v, () => {
    c.i32(CF | OF).i32(0).get(L.t);
    if (signed) c.get(L.v).i32(31).op(Op.i32ShrS, Op.i32Ne);
    c.op(Op.select);
  }, MUL_EAGER);
}

/**
 * Writes `insn` (not a branch: region.ts handles those) into the translation, or throws
 * Unsupported when this backend does not write it.
 */
const ESI = 6;
const EDI = 7;
const ES = 0;

/**
 * LODS, STOS, MOVS, SCAS and CMPS without a REP prefix (REP runs stay with the interpreter's
 * run handlers), over 32-bit addresses: one element, as interp/handlers/string.ts does it
 * (reads, then the write, then ESI/EDI step by DF; SCAS and CMPS set the flags as CMP).
 */
function stringElement(ctx: WasmContext, insn: Instruction, name: string, size: number): void {
  if (insn.addrSize !== 4) throw new Unsupported('16-bit string addresses');
  if ((insn.prefixes & (PREFIX_REP | PREFIX_REPNE)) !== 0) throw new Unsupported('REP string instruction');
  const c = ctx.code;
  const source = (into: number): void => {
    const seg = ctx.linearAt(insn.segment, () => c.get(L.e0 + ESI));
    ctx.read(size, into, seg);
  };
  const destination = (): number => ctx.linearAt(ES, () => c.get(L.e0 + EDI));
  switch (name) {
    case 'lods':
      source(L.v);
      ctx.setReg(0, size, () => c.get(L.v));
      break;
    case 'stos':
      ctx.reg(0, size);
      c.set(L.v);
      ctx.write(size, L.v, destination());
      break;
    case 'movs':
      source(L.v);
      ctx.write(size, L.v, destination());
      break;
    case 'scas':
      ctx.reg(0, size);
      c.set(L.a);
      ctx.read(size, L.b, destination());
      break;
    case 'cmps':
      source(L.a);
      ctx.read(size, L.b, destination());
      break;
    default:
      throw new Unsupported(name);
  }
  // The step: -size when DF is set.
  c.i32(-size).i32(size).i32(0).mem(Op.i32Load, 2, ctx.statusOffset + 4 * STATUS.df).op(Op.select).set(L.c);
  const step = (r: number): void => ctx.setReg(r, 4, () => c.get(L.e0 + r).get(L.c).op(Op.i32Add));
  if (name !== 'stos' && name !== 'scas') step(ESI);
  if (name !== 'lods') step(EDI);
  if (name === 'scas' || name === 'cmps') {
    c.get(L.a).get(L.b).op(Op.i32Sub).set(L.v);
    recordFlags(ctx, FlagOp.SUB, size * 8, L.a, L.b, L.v, true);
  }
}

/**
 * DIV of EDX:EAX by a 32-bit register or memory operand, as interp/handlers/muldiv.ts does it:
 * quotient to EAX, remainder to EDX, the flags kept. A zero divisor or a quotient past 32 bits
 * (EDX >= divisor) raises #DE through the host before any register is written (the operand is
 * read once: an MMIO operand is not read again, as it would be if the interpreter ran the
 * instruction after the translation left before it).
 */
function divide(ctx: WasmContext, insn: Instruction): void {
  if (insn.opSize !== 4) throw new Unsupported('DIV other than 32-bit');
  const c = ctx.code;
  const src = new RmOperand(ctx, insn, 4);
  src.prepare();
  src.load(L.s);
  c.get(L.e0 + 2).get(L.s).op(Op.i32GeU).if(() => ctx.divideError(), undefined, UNLIKELY); // also divisor 0
  c.get(L.e0 + 2).op(Op.i64ExtendI32U).op(Op.i64Const, 32, Op.i64Shl).get(L.e0).op(Op.i64ExtendI32U, Op.i64Or).set(L.p);
  ctx.setReg(2, 4, () => c.get(L.p).get(L.s).op(Op.i64ExtendI32U, Op.i64RemU, Op.i32WrapI64));
  ctx.setReg(0, 4, () => c.get(L.p).get(L.s).op(Op.i64ExtendI32U, Op.i64DivU, Op.i32WrapI64));
}

/** The operands of CMPXCHG and XADD: the r/m32 destination, read for update, into local `dest`; the source register into `src`. */
function exchangeOperands(ctx: WasmContext, insn: Instruction, dest: number, src: number): RmOperand {
  const rm = new RmOperand(ctx, insn, 4);
  rm.prepare();
  rm.loadForUpdate(dest);
  ctx.reg(insn.reg, 4);
  ctx.code.set(src);
  return rm;
}

/**
 * The two writes of CMPXCHG and XADD: local `value` to the r/m operand, and a register
 * (`setRegister`). Memory first: nothing is written to a register before the last access that
 * may fault. In register form the r/m operand last: where both name one register, its value
 * is what the handler leaves there.
 */
function writeExchange(insn: Instruction, rm: RmOperand, value: number, setRegister: () => void): void {
  if (insn.isMem) {
    rm.store(value);
    setRegister();
  } else {
    setRegister();
    rm.store(value);
  }
}

/**
 * CMPXCHG r/m32, r32 (handlers/atomics.ts): the flags of CMP EAX, dest; dest takes the source
 * when they are equal, and EAX takes dest when not. Memory is written either way (the locked
 * cycle writes the old value back).
 */
function compareExchange(ctx: WasmContext, insn: Instruction): void {
  if (insn.opSize !== 4) throw new Unsupported('cmpxchg size');
  const c = ctx.code;
  const rm = exchangeOperands(ctx, insn, L.b, L.s);
  ctx.reg(0, 4);
  c.set(L.a);
  c.get(L.a).get(L.b).op(Op.i32Sub).set(L.v);
  // What each destination gets: (equal ? ifEqual : otherwise).
  const pick = (ifEqual: number, otherwise: number) => () => c.get(ifEqual).get(otherwise).get(L.v).op(Op.i32Eqz, Op.select);
  pick(L.s, L.b)();
  c.set(L.t);
  writeExchange(insn, rm, L.t, () => ctx.setReg(0, 4, pick(L.a, L.b)));
  recordFlags(ctx, FlagOp.SUB, 32, L.a, L.b, L.v, true);
}

/** XADD r/m32, r32 (handlers/atomics.ts): dest = dest + src, src = the old dest, the flags of the ADD. */
function exchangeAdd(ctx: WasmContext, insn: Instruction): void {
  if (insn.opSize !== 4) throw new Unsupported('xadd size');
  const c = ctx.code;
  const rm = exchangeOperands(ctx, insn, L.a, L.b);
  c.get(L.a).get(L.b).op(Op.i32Add).set(L.v);
  writeExchange(insn, rm, L.v, () => ctx.setReg(insn.reg, 4, () => c.get(L.a)));
  recordFlags(ctx, FlagOp.ADD, 32, L.a, L.b, L.v, true);
}

export function directForm(ctx: WasmContext, insn: Instruction): void {
  if (insn.mode === CpuMode.Bits64) throw new Unsupported('64-bit');
  if (insn.opSize !== 4 && insn.opSize !== 2) throw new Unsupported('operand size');
  const key = insn.entry.key;
  const { name, form } = keyParts(insn.entry);
  const c = ctx.code;
  if (ALU[name] !== undefined) return alu(ctx, insn, name, form);
  switch (key) {
    case 'mov_Gv_Ev': case 'mov_Gb_Eb': {
      const size = opSizeOf(insn);
      const src = new RmOperand(ctx, insn, size);
      src.prepare();
      src.load(L.v);
      ctx.setReg(insn.reg, size, () => c.get(L.v));
      return;
    }
    case 'mov_Ev_Gv': case 'mov_Eb_Gb': {
      const size = opSizeOf(insn);
      const dst = new RmOperand(ctx, insn, size);
      dst.prepare();
      ctx.reg(insn.reg, size);
      c.set(L.v);
      dst.store(L.v);
      return;
    }
    case 'mov_Ev_Iz': case 'mov_Eb_Ib': {
      const size = opSizeOf(insn);
      const dst = new RmOperand(ctx, insn, size);
      dst.prepare();
      c.setConst(L.v, insn.imm | 0);
      dst.store(L.v);
      return;
    }
    case 'mov_Zv_Iv':
      return ctx.setReg(insn.opcode & 7, insn.opSize, () => c.i32(insn.imm | 0));
    // Kernels spin on the TSC (udelay: RDTSC or RDTSCP, PAUSE): in the translation, such a loop
    // stays in it.
    case 'rdtsc': case 'rdtscp':
      return ctx.timeStamp(key === 'rdtscp');
    case 'pause':
      return ctx.pause();
    case 'mov_Zb_Ib':
      return ctx.setReg(insn.opcode & 7, 1, () => c.i32(insn.imm & 255));
    case 'lea_Gv_M':
      if (!insn.isMem) throw new Unsupported('lea');
      return ctx.setReg(insn.reg, insn.opSize, () => ctx.offset(insn));
    case 'movzx_Gv_Eb': case 'movzx_Gv_Ew': case 'movsx_Gv_Eb': case 'movsx_Gv_Ew': {
      const from = form === 'Gv_Eb' ? 1 : 2;
      const src = new RmOperand(ctx, insn, from);
      src.prepare();
      src.load(L.s);
      const sh = 32 - from * 8;
      return ctx.setReg(insn.reg, insn.opSize, () => {
        c.get(L.s);
        if (name === 'movsx') c.i32(sh).op(Op.i32Shl).i32(sh).op(Op.i32ShrS);
      });
    }
    case 'inc_Zv': case 'dec_Zv': {
      const n = insn.opcode & 7;
      const size = insn.opSize;
      return incDec(ctx, name === 'inc', () => { ctx.reg(n, size); c.set(L.a); }, () => ctx.setReg(n, size, () => c.get(L.v)), size);
    }
    case 'inc_Ev': case 'dec_Ev': case 'inc_Eb': case 'dec_Eb': {
      const size = form === 'Eb' ? 1 : insn.opSize;
      const rm = new RmOperand(ctx, insn, size);
      return incDec(ctx, name === 'inc', () => { rm.prepare(); rm.loadForUpdate(L.a); }, () => rm.store(L.v), size);
    }
    case 'push_Zv': case 'push_Iz': case 'push_Ibs':
      if (insn.opSize !== 4) throw new Unsupported('push size');
      if (key === 'push_Zv') {
        ctx.reg(insn.opcode & 7, 4);
        c.set(L.t);
      } else c.setConst(L.t, insn.imm | 0);
      return push32(ctx, L.t);
    case 'push_Ev': {
      if (insn.opSize !== 4 || !insn.isMem) throw new Unsupported('push_Ev');
      const src = new RmOperand(ctx, insn, 4);
      src.prepare();
      src.load(L.t);
      return push32(ctx, L.t);
    }
    case 'pushf':
      // Kernels save EFLAGS around CLI (local_irq_save): the flags go to LazyFlags first.
      if (insn.opSize !== 4) throw new Unsupported('pushf size');
      ctx.materialize();
      c.call(IMPORT.eflags).set(L.t);
      return push32(ctx, L.t);
    case 'pop_Zv':
      if (insn.opSize !== 4) throw new Unsupported('pop size');
      pop32(ctx, L.v);
      return ctx.setReg(insn.opcode & 7, 4, () => c.get(L.v));
    case 'leave':
      // ESP = EBP, then pop EBP; as in the handler, a faulting pop leaves ESP = EBP.
      if (insn.opSize !== 4) throw new Unsupported('leave size');
      ctx.setReg(4, 4, () => c.get(L.e0 + 5));
      pop32(ctx, L.v);
      return ctx.setReg(5, 4, () => c.get(L.v));
    case 'nop':
      return;
    case 'not_Ev': {
      const rm = new RmOperand(ctx, insn, insn.opSize);
      rm.prepare();
      rm.loadForUpdate(L.a);
      c.get(L.a).i32(-1).op(Op.i32Xor).set(L.v);
      return rm.store(L.v);
    }
    case 'neg_Ev': {
      const rm = new RmOperand(ctx, insn, insn.opSize);
      rm.prepare();
      rm.loadForUpdate(L.b);
      c.i32(0).get(L.b).op(Op.i32Sub).set(L.v);
      rm.store(L.v);
      c.setConst(L.a, 0);
      return recordFlags(ctx, FlagOp.NEG, insn.opSize * 8, L.a, L.b, L.v, true);
    }
    case 'mov_rAX_Ov': case 'mov_AL_Ob': case 'mov_Ov_rAX': case 'mov_Ob_AL': {
      if (insn.addrSize !== 4) throw new Unsupported('moffs16');
      const size = form.includes('b') ? 1 : insn.opSize;
      const seg = ctx.absolute(insn.segment, insn.disp);
      if (form.startsWith('rAX') || form.startsWith('AL')) {
        ctx.read(size, L.v, seg);
        return ctx.setReg(0, size, () => c.get(L.v));
      }
      ctx.reg(0, size);
      c.set(L.v);
      return ctx.write(size, L.v, seg);
    }
    case 'shl_Ev_CL': case 'shr_Ev_CL': case 'sar_Ev_CL':
      return shiftByCl(ctx, insn, name);
    case 'shl_Ev_Ib': case 'shr_Ev_Ib': case 'sar_Ev_Ib':
      return shift(ctx, insn, name, insn.imm);
    case 'shl_Ev_1': case 'shr_Ev_1': case 'sar_Ev_1':
      return shift(ctx, insn, name, 1);
    case 'rol_Ev_Ib': case 'ror_Ev_Ib':
      return rotate(ctx, insn, name === 'rol', insn.imm, true);
    case 'rol_Ev_1': case 'ror_Ev_1':
      return rotate(ctx, insn, name === 'rol', 1, false);
    case 'bswap_Zv': {
      if (insn.opSize !== 4) throw new Unsupported('BSWAP of a 16-bit register'); // undefined in the SDM
      const r = insn.opcode & 7;
      c.get(L.e0 + r).set(L.v);
      return ctx.setReg(r, 4, () => {
        c.get(L.v).i32(24).op(Op.i32Shl);
        c.get(L.v).i32(0xff00).op(Op.i32And).i32(8).op(Op.i32Shl, Op.i32Or);
        c.get(L.v).i32(8).op(Op.i32ShrU).i32(0xff00).op(Op.i32And, Op.i32Or);
        c.get(L.v).i32(24).op(Op.i32ShrU, Op.i32Or);
      });
    }
    case 'cwd': {
      // CWD/CDQ: rDX = the sign of rAX, repeated.
      const size = insn.opSize;
      return ctx.setReg(2, size, () => {
        c.get(L.e0);
        if (size === 2) c.i32(16).op(Op.i32Shl);
        c.i32(31).op(Op.i32ShrS);
      });
    }
    case 'xchg_Zv_rAX': {
      // XCHG EAX, r32 (0x90 itself is NOP).
      if (insn.opSize !== 4) throw new Unsupported('xchg size');
      const n = insn.opcode & 7;
      ctx.reg(n, 4);
      c.set(L.t);
      ctx.setReg(n, 4, () => ctx.reg(0, 4));
      return ctx.setReg(0, 4, () => c.get(L.t));
    }
    case 'shld_Ev_Gv_Ib': case 'shrd_Ev_Gv_Ib': case 'shld_Ev_Gv_CL': case 'shrd_Ev_Gv_CL':
      return doubleShift(ctx, insn, name === 'shld', form.endsWith('CL'));
    case 'cmpxchg_Ev_Gv':
      return compareExchange(ctx, insn);
    case 'xadd_Ev_Gv':
      return exchangeAdd(ctx, insn);
    case 'div_Ev':
      return divide(ctx, insn);
    case 'mul_Ev':
      return widening(ctx, insn, false);
    case 'imul_Ev':
      return widening(ctx, insn, true);
    case 'imul_Gv_Ev':
      return imul(ctx, insn, false);
    case 'imul_Gv_Ev_Iz': case 'imul_Gv_Ev_Ibs':
      return imul(ctx, insn, true);
  }
  if (name === 'lods' || name === 'stos' || name === 'movs' || name === 'scas' || name === 'cmps') {
    return stringElement(ctx, insn, name, /[XY]b/.test(form) ? 1 : insn.opSize);
  }
  if (name.startsWith('set') && form === 'Eb') {
    const dst = new RmOperand(ctx, insn, 1);
    dst.prepare();
    condition(ctx, insn.opcode & 15);
    c.set(L.v);
    return dst.store(L.v);
  }
  if (name.startsWith('cmov') && form === 'Gv_Ev' && insn.opSize === 4) {
    const src = new RmOperand(ctx, insn, 4);
    src.prepare();
    src.load(L.v);
    condition(ctx, insn.opcode & 15);
    c.if(() => ctx.setReg(insn.reg, 4, () => c.get(L.v)));
    return;
  }
  throw new Unsupported(key);
}
