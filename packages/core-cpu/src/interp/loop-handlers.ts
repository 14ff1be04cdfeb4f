/**
 * The handler the run loops call for each decoded instruction, picked once at decode: where
 * one exists, a variant fixed to the instruction's operand size and kind (ALU forms, MOV, LEA),
 * and otherwise the table's handler, wrapped when it may change what the run loop keeps in
 * locals (MODE_KEEPING). Specialised variants for more instruction groups register here.
 */
import type { Instruction } from '../decoder/instruction.js';
import { DISPATCH } from './handlers/index.js';
import type { Handler } from './handlers/types.js';
import { OPCODE_TABLE } from '../decoder/opcode-table.js';
import { ALU_HANDLERS, INC_DEC_VARIANTS } from './handlers/alu.js';
import { ATOMIC_HANDLERS } from './handlers/atomics.js';
import { BCD_HANDLERS } from './handlers/bcd.js';
import { BITOP_HANDLERS } from './handlers/bitops.js';
import { CONTROL_HANDLERS } from './handlers/control.js';
import { CPUID_MSR_HANDLERS } from './handlers/cpuid-msr.js';
import { DATA_HANDLERS, LEA_VARIANTS, MOV_VARIANTS, MOVX_VARIANTS } from './handlers/data.js';
import { MULDIV_HANDLERS, MULDIV_VARIANTS } from './handlers/muldiv.js';
import { SHIFT_HANDLERS } from './handlers/shift.js';
import { SHIFT_VARIANTS } from './handlers/shift-variants.js';
import { FLAG_HANDLERS, PUSH_POP_VARIANTS, STACK_HANDLERS } from './handlers/stack-ops.js';
import { STRING_HANDLERS } from './handlers/string.js';
import { X87_HANDLERS } from './handlers/x87.js';
import { ALU_FORM_VARIANTS } from '../generated/alu-forms.js';

/**
 * Handlers that cannot change CS (selector, base, attributes), CR0 or EFER, so the run loops
 * may keep the decoding mode and CS base they computed on entry across them: whole groups of
 * plain data operations, and the near control transfers. Left out, conservatively: I/O (a
 * device may reset the machine), segment register loads, POPF. A handler not listed (or
 * replaced later by a wrapper, e.g. system-events.ts) is not this function object, so it is
 * treated as mode-changing: a new handler is safe by default.
 */
const MODE_KEEPING: ReadonlySet<Handler> = (() => {
  const keep = new Set<Handler>();
  const groups = [ALU_HANDLERS, ATOMIC_HANDLERS, BCD_HANDLERS, BITOP_HANDLERS, MULDIV_HANDLERS, SHIFT_HANDLERS, X87_HANDLERS, FLAG_HANDLERS];
  for (const g of groups) for (const h of Object.values(g)) keep.add(h);
  const except = /^(ins_|outs_|mov_Sw_Rv_Mw$|pop_(ES|SS|DS|FS|GS)$|popf$)/;
  for (const g of [DATA_HANDLERS, STACK_HANDLERS, STRING_HANDLERS]) {
    for (const [key, h] of Object.entries(g)) if (!except.test(key)) keep.add(h);
  }
  // Reading the TSC, CPUID and MSRs changes no mode (WRMSR may: EFER; STAC/CLAC change the
  // MMU's masks; SYSENTER/SYSEXIT load CS). Kernels read the TSC millions of times a boot.
  for (const key of ['cpuid', 'rdtsc', 'rdtscp', 'rdmsr']) keep.add(CPUID_MSR_HANDLERS[key]);
  const nearControl = /^(jmp_(Jb|Jz|Ev)|call_(Jz|Ev)|ret|ret_Iw|loop(e|ne)?_Jb|jcxz_Jb|j(n?[obeslp]|ae|be|a|ge|le|g|l)_J[bz]|set[a-z]+_Eb|cmov[a-z]+_Gv_Ev)$/;
  for (const [key, h] of Object.entries(CONTROL_HANDLERS)) if (nearControl.test(key)) keep.add(h);
  // A mode-changing key that shares its function with a kept key would be wrongly kept.
  for (const [key, h] of Object.entries(CONTROL_HANDLERS)) if (!nearControl.test(key)) keep.delete(h);
  return keep;
})();

/** Raises SoftCpu.modeChanged after `h`: the run loop then ends and re-reads the mode. */
function modeChanging(h: Handler): Handler {
  return (cpu, insn) => {
    h(cpu, insn);
    cpu.modeChanged = true;
  };
}

/**
 * What the run loops call per table entry: DISPATCH's handler, wrapped by modeChanging unless
 * it is in MODE_KEEPING. (Built once; the wrappers are the only closures, one per entry.)
 */
const LOOP_DISPATCH: readonly Handler[] = OPCODE_TABLE.map((_entry, i) =>
  MODE_KEEPING.has(DISPATCH[i]) ? DISPATCH[i] : modeChanging(DISPATCH[i]));

/**
 * Per table entry, the variants of its v-form handler fixed to one size and operand kind (ALU
 * forms: generated/alu-forms.ts; MOV: handlers/data.ts), when the entry still runs that
 * handler (not replaced by a later group); else undefined.
 */
const VARIANTS: readonly (readonly Handler[] | undefined)[] = OPCODE_TABLE.map((entry, i) => {
  const key = entry.key;
  if (ALU_FORM_VARIANTS[key] !== undefined && DISPATCH[i] === ALU_HANDLERS[key]) return ALU_FORM_VARIANTS[key];
  if (MOV_VARIANTS[key] !== undefined && DISPATCH[i] === DATA_HANDLERS[key]) return MOV_VARIANTS[key];
  if (key === 'lea_Gv_M' && DISPATCH[i] === DATA_HANDLERS[key]) return LEA_VARIANTS;
  if (SHIFT_VARIANTS[key] !== undefined && DISPATCH[i] === SHIFT_HANDLERS[key]) return SHIFT_VARIANTS[key];
  if (MULDIV_VARIANTS[key] !== undefined && DISPATCH[i] === MULDIV_HANDLERS[key]) return MULDIV_VARIANTS[key];
  if (MOVX_VARIANTS[key] !== undefined && DISPATCH[i] === DATA_HANDLERS[key]) return MOVX_VARIANTS[key];
  if (INC_DEC_VARIANTS[key] !== undefined && DISPATCH[i] === ALU_HANDLERS[key]) return INC_DEC_VARIANTS[key];
  if (PUSH_POP_VARIANTS[key] !== undefined && DISPATCH[i] === STACK_HANDLERS[key]) return PUSH_POP_VARIANTS[key];
  return undefined;
});

/** The handler the run loops call for a decoded instruction (picked once per decode). */
export function loopHandler(insn: Instruction): Handler {
  return loopHandlerFor(insn.entry.index, insn.opSize, insn.isMem);
}

/** loopHandler for table entry `entryIndex` at operand size `opSize` (bytes), register or memory form. */
export function loopHandlerFor(entryIndex: number, opSize: number, isMem: boolean): Handler {
  const v = VARIANTS[entryIndex];
  if (v !== undefined && opSize !== 8) return v[(opSize === 4 ? 1 : 0) | (isMem ? 2 : 0)];
  return LOOP_DISPATCH[entryIndex];
}

/** Conditional branches: a block goes on past them (the run loop leaves it when one is taken). */
const CONDITIONAL_BRANCH = /^(j(n?[obeslpz]|ae|be|a|ge|le|g|l|nae|nbe|nge|nle|pe|po)_J[bz]|loop(e|ne)?_Jb|j[er]?cxz_Jb)$/;

/**
 * Per table entry: the block must end after this instruction (decode-cache.ts): it transfers
 * control unconditionally, may change the mode or what the run loop keeps in locals, or is
 * marked as a block end in the table (HLT, STI, INT ...). Conditional branches are not.
 */
const ENDS_BLOCK: readonly boolean[] = OPCODE_TABLE.map((entry, i) =>
  (entry.blockEnd === true && !CONDITIONAL_BRANCH.test(entry.key)) || !MODE_KEEPING.has(DISPATCH[i]));

/** True when a decoded block must end after `insn`. */
export function endsBlock(insn: Instruction): boolean {
  return ENDS_BLOCK[insn.entry.index];
}
