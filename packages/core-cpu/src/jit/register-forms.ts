/**
 * The instructions the JIT writes itself, over the guest state in locals (translation-context.ts)
 * and flag locals (flag-state.ts): MOV, the ALU group, TEST, INC/DEC, LEA, MOVZX/MOVSX,
 * PUSH/POP, SETcc, CMOVcc, SHL/SHR/SAR by a constant, IMUL. These are the bulk of what hot code
 * runs. Everything else keeps its interpreter handler (block-compiler.ts spills the locals
 * around it).
 *
 * Each form does exactly what its handler does: the same result, the same flag record (so
 * LazyFlags ends up identical), memory read before anything is written, nothing written before
 * the last access that may fault (a fault leaves the locals as they were before the
 * instruction). Stack forms need a 32-bit stack (TranslationContext.stack32).
 */
import { CF, FlagOp, OF } from '../alu/lazy-flags.js';
import { MUL_EAGER } from '../interp/handlers/muldiv.js';
import { SHIFT_EAGER } from '../interp/handlers/shift.js';
import { CpuMode, type Instruction } from '../decoder/instruction.js';
import { carryValue, conditionExpression, FLAGS_KEEP_CARRY, FLAGS_RECORD, FLAGS_RESULT, materialize, MATERIALIZE_RUNTIME, RUNTIME_FLAGS } from './flag-state.js';
import type { TranslationContext } from './translation-context.js';
import { callTarget } from './direct-emitters.js';
import { keyParts } from './key-parts.js';


type Alu = { op: FlagOp; expr: (a: string, b: string, c: string) => string; carry: boolean; writes: boolean };
const ALU: Record<string, Alu> = {
  add: { op: FlagOp.ADD, expr: (a, b) => `${a} + ${b}`, carry: false, writes: true },
  adc: { op: FlagOp.ADD, expr: (a, b, c) => `${a} + ${b} + ${c}`, carry: true, writes: true },
  sub: { op: FlagOp.SUB, expr: (a, b) => `${a} - ${b}`, carry: false, writes: true },
  sbb: { op: FlagOp.SUB, expr: (a, b, c) => `${a} - ${b} - ${c}`, carry: true, writes: true },
  cmp: { op: FlagOp.SUB, expr: (a, b) => `${a} - ${b}`, carry: false, writes: false },
  and: { op: FlagOp.LOGIC, expr: (a, b) => `${a} & ${b}`, carry: false, writes: true },
  or: { op: FlagOp.LOGIC, expr: (a, b) => `${a} | ${b}`, carry: false, writes: true },
  xor: { op: FlagOp.LOGIC, expr: (a, b) => `${a} ^ ${b}`, carry: false, writes: true },
  test: { op: FlagOp.LOGIC, expr: (a, b) => `${a} & ${b}`, carry: false, writes: false },
};

/** Operand-size masks by size in bytes. */
export const SIZE_MASK = [0, 255, 65535, 0, -1];

/** The r/m operand: a register, or memory at $L (which `prepare` computes). */
class RmOperand {
  constructor(
    private readonly ctx: TranslationContext,
    private readonly insn: Instruction,
    readonly size: number,
  ) {}

  /** Statement computing the address (memory operands). */
  prepare(): string {
    return this.insn.isMem ? this.ctx.linear(this.insn, this.size) : '';
  }

  /** Statements declaring `name` = the operand's value (zero-extended). */
  load(name: string): string {
    if (!this.insn.isMem) return `const ${name} = ${this.ctx.reg(this.insn.rm, this.size)};`;
    return `let ${name} = 0; ${this.ctx.read(this.size, name)}`;
  }

  /** Statements storing `value` (a variable; the low `size` bytes count). */
  store(value: string): string {
    if (!this.insn.isMem) return this.ctx.setReg(this.insn.rm, this.size, value);
    return this.ctx.write(this.size, value);
  }
}

function recordFlags(ctx: TranslationContext, op: FlagOp, bits: number, a: string, b: string, r: string, plain: boolean): string {
  ctx.flags = { kind: 'record', op, bits, plain, keepCarry: false };
  return `fk = ${FLAGS_RECORD}; fo = ${op}; fz = ${bits}; fa = ${a}; fb = ${b}; fr = ${r};`;
}

function resultFlags(ctx: TranslationContext, bits: number, r: string, eager: string, mask: number): string {
  ctx.flags = { kind: 'result', bits, mask };
  return `fk = ${FLAGS_RESULT}; fz = ${bits}; fr = ${r}; fa = ${eager}; fb = ${mask};`;
}

/** Statements declaring `c` = CF (0/1), reading LazyFlags only when the locals cannot tell. */
function carryIn(ctx: TranslationContext): string {
  const known = carryValue(ctx.flags);
  if (known !== null) return `const c = ${known};`;
  // At a loop head the record's kind is known only at run time: read CF from the locals, and
  // write the record into LazyFlags only when they cannot tell.
  if (ctx.flags.kind === 'runtime') return `let c = S.lazyFlags.carryOfRecord(fk, fo, fz, fa, fb, fr, fc); if (c < 0) { ${MATERIALIZE_RUNTIME} c = f.cf(); }`;
  const flush = materialize(ctx.flags);
  ctx.flags = { kind: 'memory' };
  return `${flush} const c = f.cf();`;
}

/** A boolean expression for condition code `cc`, flushing to LazyFlags when needed. */
export function conditionCode(ctx: TranslationContext, cc: number): { setup: string; test: string } {
  const expr = conditionExpression(ctx.flags, cc);
  if (expr !== null) return { setup: '', test: expr };
  const setup = materialize(ctx.flags);
  ctx.flags = { kind: 'memory' };
  return { setup, test: `COND(cpu, ${cc})` };
}

/**
 * LOOP/LOOPE/LOOPNE/JCXZ as a setup statement (the count register's decrement, which changes
 * no flag) and the branch's condition, as control.ts's handlers do it; the count register is CX
 * or ECX by address size (`addrSize` 2 or 4).
 */
export function countCondition(ctx: TranslationContext, kind: 'loop' | 'loope' | 'loopne' | 'jcxz', addrSize: number): { setup: string; test: string } {
  const size = addrSize === 2 ? 2 : 4;
  const count = ctx.reg(1, size);
  if (kind === 'jcxz') return { setup: '', test: `${count} === 0` };
  const decrement = ctx.setReg(1, size, `${count} - 1`);
  const notZero = `${count} !== 0`;
  if (kind === 'loop') return { setup: decrement, test: notZero };
  // ZF as the flags stand before the instruction (the decrement does not touch them).
  const zf = conditionCode(ctx, kind === 'loope' ? 4 : 5);
  return { setup: `${zf.setup} const z = ${zf.test}; ${decrement}`, test: `${notZero} && z` };
}

/** An ALU or MOV form's operand size in bytes: 1 for the byte forms, else the instruction's. */
export function opSizeOf(insn: Instruction): number {
  return keyParts(insn.entry).byteForm ? 1 : insn.opSize;
}

/** ALU/TEST forms: `dst op= src`. */
function alu(ctx: TranslationContext, insn: Instruction, name: string, form: string): string | null {
  const a = ALU[name];
  const size = opSizeOf(insn);
  const imm = size === 4 ? String(insn.imm | 0) : String(insn.imm & SIZE_MASK[size]);
  switch (form) {
    case 'Eb_Gb': case 'Ev_Gv': case 'Eb_Ib': case 'Ev_Iz': case 'Ev_Ibs': {
      const rm = new RmOperand(ctx, insn, size);
      const b = form.endsWith('Gb') || form.endsWith('Gv') ? ctx.reg(insn.reg, size) : imm;
      return finishAlu(ctx, a, size, `${rm.prepare()} ${rm.load('a')}`, b, (v) => rm.store(v));
    }
    case 'Gb_Eb': case 'Gv_Ev': {
      const src = new RmOperand(ctx, insn, size);
      return finishAlu(ctx, a, size, `${src.prepare()} ${src.load('b')} const a = ${ctx.reg(insn.reg, size)};`, 'b', (v) => ctx.setReg(insn.reg, size, v));
    }
    case 'AL_Ib': case 'rAX_Iz':
      return finishAlu(ctx, a, size, `const a = ${ctx.reg(0, size)};`, imm, (v) => ctx.setReg(0, size, v));
    default:
      return null;
  }
}

/** `load` declares `a` (and what `b` names); then the operation, the store, the flag record. */
function finishAlu(ctx: TranslationContext, a: Alu, size: number, load: string, b: string, store: (v: string) => string): string {
  const carry = a.carry ? carryIn(ctx) : '';
  const body = `${load} ${carry} const bb = ${b}; const v = ${a.expr('a', 'bb', 'c')};`;
  const write = a.writes ? store('v') : '';
  return `${body} ${write} ${recordFlags(ctx, a.op, size * 8, 'a', 'bb', 'v | 0', !a.carry)}`;
}

function incDec(ctx: TranslationContext, insn: Instruction, inc: boolean, operand: { reg: number } | RmOperand, size: number): string {
  const carry = carryIn(ctx);
  let load: string;
  let store: (v: string) => string;
  if (operand instanceof RmOperand) {
    load = `${operand.prepare()} ${operand.load('a')}`;
    store = (v) => operand.store(v);
  } else {
    load = `const a = ${ctx.reg(operand.reg, size)};`;
    store = (v) => ctx.setReg(operand.reg, size, v);
  }
  const op = inc ? FlagOp.ADD : FlagOp.SUB;
  ctx.flags = { kind: 'record', op, bits: size * 8, plain: true, keepCarry: true };
  return `${load} ${carry} const v = a ${inc ? '+' : '-'} 1; ${store('v')} fk = ${FLAGS_KEEP_CARRY}; fo = ${op}; fz = ${size * 8}; fa = a; fb = 1; fr = v | 0; fc = c;`;
}

/** SHL/SHR/SAR by a constant: 32-bit operands, and 16-bit ones shifted by less than 16. */
function shift(ctx: TranslationContext, insn: Instruction, kind: string, count: number): string | null {
  const c = count & 31;
  const size = insn.opSize;
  if (size !== 4 && !(size === 2 && c < 16)) return null;
  if (c === 0) return insn.isMem ? null : '';
  const rm = new RmOperand(ctx, insn, size);
  // The results and eager flags of shift-variants.ts (shl32/shl16 ...); `a` is the operand
  // zero-extended from its size.
  const top = size * 8 - 1;
  let r: string;
  let eager: string;
  switch (kind) {
    case 'shl':
      r = size === 4 ? `a << ${c}` : `(a << ${c}) & 65535`;
      eager = `((a >>> ${top + 1 - c}) & 1) | ((((a >>> ${top}) ^ (a >>> ${top - 1})) & 1) << 11)`;
      break;
    case 'shr':
      r = `a >>> ${c}`;
      eager = `((a >>> ${c - 1}) & 1) | ((a >>> ${top}) << 11)`;
      break;
    case 'sar':
      r = size === 4 ? `a >> ${c}` : `(((a << 16) >> 16) >> ${c}) & 65535`;
      eager = size === 4 ? `(a >> ${c - 1}) & 1` : `(((a << 16) >> 16) >> ${c - 1}) & 1`;
      break;
    default:
      return null;
  }
  return `${rm.prepare()} ${rm.load('a')} const v = (${r}) | 0; ${rm.store('v')} ${resultFlags(ctx, size * 8, 'v', eager, SHIFT_EAGER)}`;
}

/** SHL/SHR/SAR r32, CL: a zero count changes nothing, so the flags are known only at run time. */
function shiftByCl(ctx: TranslationContext, insn: Instruction, kind: string): string | null {
  if (insn.opSize !== 4 || insn.isMem) return null;
  let r: string;
  let eager: string;
  switch (kind) {
    case 'shl':
      r = 'a << n';
      eager = '((a >>> (32 - n)) & 1) | ((((a >>> 31) ^ (a >>> 30)) & 1) << 11)';
      break;
    case 'shr':
      r = 'a >>> n';
      eager = '((a >>> (n - 1)) & 1) | ((a >>> 31) << 11)';
      break;
    case 'sar':
      r = 'a >> n';
      eager = '(a >> (n - 1)) & 1';
      break;
    default:
      return null;
  }
  const code = `const a = ${ctx.reg(insn.rm, 4)}; const n = ${ctx.reg(1, 1)} & 31; if (n !== 0) { const v = (${r}) | 0; ${ctx.setReg(insn.rm, 4, 'v')} fk = ${FLAGS_RESULT}; fz = 32; fr = v; fa = ${eager}; fb = ${SHIFT_EAGER}; }`;
  ctx.flags = RUNTIME_FLAGS;
  return code;
}

/** Statements pushing the int32 expression `value` on the 32-bit stack. */
function push32(ctx: TranslationContext, value: string): string {
  return `const pv = ${value}; const sp = (${ctx.reg(4, 4)} - 4) >>> 0; ${ctx.stackLinear('sp', 4)} ${ctx.write(4, 'pv')} ${ctx.setReg(4, 4, 'sp')}`;
}

/** Statements popping a dword from the 32-bit stack into the (declared) variable `into`. */
function pop32(ctx: TranslationContext, into: string): string {
  return `const sp = ${ctx.reg(4, 4)} >>> 0; ${ctx.stackLinear('sp', 4)} ${ctx.read(4, into)} ${ctx.setReg(4, 4, 'e4 + 4')}`;
}

/**
 * CALL rel32 and RET as a block's last instruction: the push or pop, then on to the target:
 * `toMember(target)` when the translation holds the target's block (null: exit), and for RET,
 * `afterReturn` tests the popped RIP against the translation's blocks before the exit. The
 * handlers check no CS limit either. Null for other instructions and sizes.
 */
export function nearTransfer(ctx: TranslationContext, insn: Instruction, next: number, toMember: (target: number) => string | null, afterReturn: string): string | null {
  if (insn.mode === CpuMode.Bits64 || insn.opSize !== 4 || !ctx.stack32) return null;
  const target = callTarget(insn, next);
  if (target !== null) {
    return `{ ${push32(ctx, String(next | 0))} } ${toMember(target) ?? ctx.exit(ctx.doneAfter(), target)}`;
  }
  const key = insn.entry.key;
  if (key === 'ret') return `{ let v = 0; ${pop32(ctx, 'v')} r.rip = v; } ${afterReturn} ${ctx.exit(ctx.doneAfter(), null)}`;
  if (key === 'call_Ev' || key === 'jmp_Ev') {
    // Indirect: the target is read first (it may fault), then the return address pushed.
    const rm = new RmOperand(ctx, insn, 4);
    const push = key === 'call_Ev' ? push32(ctx, String(next | 0)) : '';
    return `{ ${rm.prepare()} ${rm.load('t')} ${push} r.rip = t | 0; } ${afterReturn} ${ctx.exit(ctx.doneAfter(), null)}`;
  }
  return null;
}

/** IMUL r32, r/m32 (, imm): the low dword, CF = OF = "the product did not fit". */
function imul(ctx: TranslationContext, insn: Instruction, withImmediate: boolean): string | null {
  if (insn.opSize !== 4) return null;
  const rm = new RmOperand(ctx, insn, 4);
  const load = `${rm.prepare()} ${rm.load('s')}`;
  const pair = withImmediate ? `const a = s | 0; const b = ${insn.imm | 0};` : `const a = ${ctx.reg(insn.reg, 4)}; const b = s | 0;`;
  const write = ctx.setReg(insn.reg, 4, 'v');
  return `${load} ${pair} const v = Math.imul(a, b); ${write} ${resultFlags(ctx, 32, 'v', `a * b !== v ? ${CF | OF} : 0`, MUL_EAGER)}`;
}

/**
 * MUL/IMUL r/m32 with one operand: EDX:EAX = EAX * source, unsigned or signed, with the flags
 * muldiv.ts's mul32/imul32 record (CF = OF = the high half is not the low half's extension).
 */
function widening(ctx: TranslationContext, insn: Instruction, signed: boolean): string | null {
  if (insn.opSize !== 4) return null;
  const rm = new RmOperand(ctx, insn, 4);
  const load = `${rm.prepare()} ${rm.load('s')}`;
  const eax = ctx.reg(0, 4);
  const product = signed
    ? `const a = ${eax} | 0; const b = s | 0; const lo = Math.imul(a, b); const hi = S.muldiv.mulHighS32(a, b);`
    : `const a = ${eax} >>> 0; const b = s >>> 0; const lo = Math.imul(a, b); const hi = S.muldiv.mulHighU32(a, b);`;
  const overflow = signed ? `hi !== (lo >> 31) >>> 0` : 'hi !== 0';
  return `${load} ${product} ${ctx.setReg(0, 4, 'lo')} ${ctx.setReg(2, 4, 'hi')} ${resultFlags(ctx, 32, 'lo', `${overflow} ? ${CF | OF} : 0`, MUL_EAGER)}`;
}

/**
 * The JS for `insn` over the locals, or null when the JIT does not write this form itself.
 * `next` is the following instruction's IP.
 */
export function directForm(ctx: TranslationContext, insn: Instruction): string | null {
  if (insn.mode === CpuMode.Bits64) return null;
  if (insn.isMem && insn.addrSize !== 4 && insn.addrSize !== 2) return null;
  const key = insn.entry.key;
  const { name, form } = keyParts(insn.entry);
  if (insn.opSize !== 4 && insn.opSize !== 2) return null;
  if (ALU[name] !== undefined) return alu(ctx, insn, name, form);
  switch (key) {
    case 'mov_Gv_Ev': case 'mov_Gb_Eb': {
      const size = opSizeOf(insn);
      const src = new RmOperand(ctx, insn, size);
      return `${src.prepare()} ${src.load('v')} ${ctx.setReg(insn.reg, size, 'v')}`;
    }
    case 'mov_Ev_Gv': case 'mov_Eb_Gb': {
      const size = opSizeOf(insn);
      const dst = new RmOperand(ctx, insn, size);
      return `${dst.prepare()} const v = ${ctx.reg(insn.reg, size)}; ${dst.store('v')}`;
    }
    case 'mov_Ev_Iz': case 'mov_Eb_Ib': {
      const size = opSizeOf(insn);
      const dst = new RmOperand(ctx, insn, size);
      return `${dst.prepare()} const v = ${insn.imm | 0}; ${dst.store('v')}`;
    }
    case 'mov_Zv_Iv':
      return ctx.setReg(insn.opcode & 7, insn.opSize, String(insn.imm | 0));
    case 'mov_Zb_Ib':
      return ctx.setReg(insn.opcode & 7, 1, String(insn.imm & 255));
    case 'lea_Gv_M':
      return insn.isMem ? ctx.setReg(insn.reg, insn.opSize, ctx.offset(insn)) : null;
    case 'movzx_Gv_Eb': case 'movzx_Gv_Ew': case 'movsx_Gv_Eb': case 'movsx_Gv_Ew': {
      const from = form === 'Gv_Eb' ? 1 : 2;
      const src = new RmOperand(ctx, insn, from);
      const sh = 32 - from * 8;
      const v = name === 'movsx' ? `(s << ${sh}) >> ${sh}` : 's';
      return `${src.prepare()} ${src.load('s')} ${ctx.setReg(insn.reg, insn.opSize, v)}`;
    }
    case 'inc_Zv': case 'dec_Zv':
      return incDec(ctx, insn, name === 'inc', { reg: insn.opcode & 7 }, insn.opSize);
    case 'inc_Ev': case 'dec_Ev':
      return incDec(ctx, insn, name === 'inc', new RmOperand(ctx, insn, insn.opSize), insn.opSize);
    case 'inc_Eb': case 'dec_Eb':
      return incDec(ctx, insn, name === 'inc', new RmOperand(ctx, insn, 1), 1);
    case 'push_Zv': case 'push_Iz': case 'push_Ibs':
      if (insn.opSize !== 4 || !ctx.stack32) return null;
      return push32(ctx, key === 'push_Zv' ? ctx.reg(insn.opcode & 7, 4) : String(insn.imm | 0));
    case 'push_Ev': {
      if (insn.opSize !== 4 || !insn.isMem || !ctx.stack32) return null;
      const src = new RmOperand(ctx, insn, 4);
      return `${src.prepare()} ${src.load('s')} ${push32(ctx, 's')}`;
    }
    case 'pop_Zv':
      if (insn.opSize !== 4 || !ctx.stack32) return null;
      return `let v = 0; ${pop32(ctx, 'v')} ${ctx.setReg(insn.opcode & 7, 4, 'v')}`;
    case 'leave':
      // ESP = EBP, then pop EBP; as in the handler, a faulting pop leaves ESP = EBP.
      if (insn.opSize !== 4 || !ctx.stack32) return null;
      return `${ctx.setReg(4, 4, ctx.reg(5, 4))} let v = 0; ${pop32(ctx, 'v')} ${ctx.setReg(5, 4, 'v')}`;
    case 'nop':
      return '';
    case 'pause':
      // Counted first (spinPause compares the clock with the burst's budget); it may end the
      // burst, which the check after a memory access ($S) notices.
      ctx.touchedMemory = true;
      return `cpu.retired = base + k0 + ${ctx.local}; S.cpuidMsr.spinPause(cpu); $S = 1;`;
    case 'rdtsc': case 'rdtscp': {
      // Kernels spin on the TSC (delay loops: RDTSCP, PAUSE): no handler call, no spill. The
      // TSC counts retired instructions, so the count is stored first; a fault is handled as
      // any fault of a directly written instruction (j).
      // Both checks come before any register is written: a faulting RDTSCP changes nothing.
      const rdtscp = key === 'rdtscp';
      const aux = rdtscp ? 'const x = S.cpuidMsr.timeStampAux(cpu);' : '';
      return `j = ${ctx.j}; ${aux} cpu.retired = base + k0 + ${ctx.local}; const t = S.cpuidMsr.timeStamp(cpu); ${ctx.setReg(0, 4, 't | 0')} ${ctx.setReg(2, 4, 'Math.floor(t / 4294967296) | 0')}${rdtscp ? ` ${ctx.setReg(1, 4, 'x')}` : ''}`;
    }
    case 'not_Ev': {
      const rm = new RmOperand(ctx, insn, insn.opSize);
      return `${rm.prepare()} ${rm.load('a')} const v = ~a; ${rm.store('v')}`;
    }
    case 'neg_Ev': {
      const rm = new RmOperand(ctx, insn, insn.opSize);
      const bits = insn.opSize * 8;
      return `${rm.prepare()} ${rm.load('b')} const v = -b | 0; ${rm.store('v')} ${recordFlags(ctx, FlagOp.NEG, bits, '0', 'b', 'v', true)}`;
    }
    case 'mov_rAX_Ov': case 'mov_AL_Ob': case 'mov_Ov_rAX': case 'mov_Ob_AL': {
      if (insn.addrSize !== 4) return null;
      const size = form.includes('b') ? 1 : insn.opSize;
      const at = ctx.segmentLinear(insn.segment, String(insn.disp >>> 0), size);
      if (form.startsWith('rAX') || form.startsWith('AL')) return `${at} let v = 0; ${ctx.read(size, 'v')} ${ctx.setReg(0, size, 'v')}`;
      return `${at} const v = ${ctx.reg(0, size)}; ${ctx.write(size, 'v')}`;
    }
    case 'shl_Ev_CL': case 'shr_Ev_CL': case 'sar_Ev_CL':
      return shiftByCl(ctx, insn, name);
    case 'shl_Ev_Ib': case 'shr_Ev_Ib': case 'sar_Ev_Ib':
      return shift(ctx, insn, name, insn.imm);
    case 'shl_Ev_1': case 'shr_Ev_1': case 'sar_Ev_1':
      return shift(ctx, insn, name, 1);
    case 'mul_Ev':
      return widening(ctx, insn, false);
    case 'imul_Ev':
      return widening(ctx, insn, true);
    case 'imul_Gv_Ev':
      return imul(ctx, insn, false);
    case 'imul_Gv_Ev_Iz': case 'imul_Gv_Ev_Ibs':
      return imul(ctx, insn, true);
  }
  if (name.startsWith('set') && form === 'Eb') {
    const dst = new RmOperand(ctx, insn, 1);
    const prepare = dst.prepare();
    const { setup, test } = conditionCode(ctx, insn.opcode & 15);
    return `${prepare} ${setup} const v = ${test} ? 1 : 0; ${dst.store('v')}`;
  }
  if (name.startsWith('cmov') && form === 'Gv_Ev' && insn.opSize === 4) {
    const src = new RmOperand(ctx, insn, 4);
    const load = `${src.prepare()} ${src.load('v')}`;
    const { setup, test } = conditionCode(ctx, insn.opcode & 15);
    return `${load} ${setup} if (${test}) { ${ctx.setReg(insn.reg, 4, 'v')} }`;
  }
  return null;
}
