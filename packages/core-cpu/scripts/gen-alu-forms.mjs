#!/usr/bin/env node
// Generates packages/core-cpu/src/generated/alu-forms.ts: the eight classic ALU operations in
// their nine ModRM/accumulator forms, one plain function each. Written out rather than made by
// one factory because closures from one factory share V8's type feedback: a shared body that
// switches on the operation stays polymorphic, distinct functions with a constant operation and
// size let V8 fold the size branches and inline the flag recording (+18-32% MIPS measured).
// 64-bit operand size (REX.W) has its own function per form, called from the v-form's last
// branch, so the 16/32-bit bodies stay small; it works on 32-bit halves (no BigInt).
// The v-forms also come as variants fixed to one operand size and operand kind (16/32-bit,
// register/memory), which the run loop picks once per decoded instruction (the decode cache keeps
// the pick): a register-register ADD then runs with no size or isMem test and no call for its
// operand address, as v86's separate _reg/_mem handlers do. They must do exactly what the
// general form does for that size and kind (the general forms stay for uncached runs and REX.W).
// Usage: node scripts/gen-alu-forms.mjs [--check]   (--check: exit 1 if the file is stale)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../src/generated/alu-forms.ts', import.meta.url));

/** The 64-bit body: a, aHi, b, bHi are in scope (low halves unsigned); defines r and rHi. */
const ADD64 = (carry) => [
  `  const s = a + b${carry};`,
  '  const r = s | 0;',
  '  const rHi = (aHi + bHi + (s > 0xffffffff ? 1 : 0)) | 0;',
].join('\n');
const SUB64 = (borrow) => [
  `  const s = a - b${borrow};`,
  '  const r = s | 0;',
  '  const rHi = (aHi - bHi - (s < 0 ? 1 : 0)) | 0;',
].join('\n');
const LOGIC64 = (o) => [
  `  const r = a ${o} b;`,
  `  const rHi = aHi ${o} bHi;`,
].join('\n');

/** In ModRM /digit order: name, result expression, lazy-flags kind, whether the result is stored, 64-bit body. */
const OPS = [
  ['add', 'a + b', 'ADD', true, ADD64('')],
  ['or', 'a | b', 'LOGIC', true, LOGIC64('|')],
  ['adc', 'a + b + f.cf()', 'ADD', true, ADD64(' + f.cf()')],
  ['sbb', 'a - b - f.cf()', 'SUB', true, SUB64(' - f.cf()')],
  ['and', 'a & b', 'LOGIC', true, LOGIC64('&')],
  ['sub', 'a - b', 'SUB', true, SUB64('')],
  ['xor', 'a ^ b', 'LOGIC', true, LOGIC64('^')],
  ['cmp', 'a - b', 'SUB', false, SUB64('')],
];
const FORMS = ['Eb_Gb', 'Eb_Ib', 'Ev_Gv', 'Ev_Iz', 'Gb_Eb', 'Gv_Ev', 'AL_Ib', 'rAX_Iz'];

// %op% %expr% %kind% %body64% %record64% are substituted; lines starting @@WRITE@@ are kept
// only for operations that store their result (all but CMP). The flags are recorded after the
// store: a store that faults (#PF on a copy-on-write page) must leave EFLAGS as they were, or
// the restarted ADC/SBB would see the carry the aborted attempt produced.
const TEMPLATE = `function %op%_Eb_Gb(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const a = readE8(cpu, insn, lin);
  const b = readG8(cpu, insn);
  const r = %expr%;
@@WRITE@@  writeE8(cpu, insn, lin, r);
  f.record(FlagOp.%kind%, 8, a, b, r);
}

function %op%_Eb_Ib(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const lin = insn.isMem ? memoryLinear(cpu, insn, 1) : 0;
  const a = readE8(cpu, insn, lin);
  const b = insn.imm;
  const r = %expr%;
@@WRITE@@  writeE8(cpu, insn, lin, r);
  f.record(FlagOp.%kind%, 8, a, b, r);
}

function %op%_Ev_Gv(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const a = readE16(cpu, insn, lin);
    const b = readG16(cpu, insn);
    const r = %expr%;
@@WRITE@@    writeE16(cpu, insn, lin, r);
    f.record(FlagOp.%kind%, 16, a, b, r);
  } else if (insn.opSize === 4) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 4) : 0;
    const a = readE32(cpu, insn, lin);
    const b = readG32(cpu, insn);
    const r = %expr%;
@@WRITE@@    writeE32(cpu, insn, lin, r);
    f.record(FlagOp.%kind%, 32, a, b, r);
  } else {
    %op%_Ev_Gv_64(cpu, insn);
  }
}

function %op%_Ev_Iz(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  if (insn.opSize === 2) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 2) : 0;
    const a = readE16(cpu, insn, lin);
    const b = insn.imm;
    const r = %expr%;
@@WRITE@@    writeE16(cpu, insn, lin, r);
    f.record(FlagOp.%kind%, 16, a, b, r);
  } else if (insn.opSize === 4) {
    const lin = insn.isMem ? memoryLinear(cpu, insn, 4) : 0;
    const a = readE32(cpu, insn, lin);
    const b = insn.imm;
    const r = %expr%;
@@WRITE@@    writeE32(cpu, insn, lin, r);
    f.record(FlagOp.%kind%, 32, a, b, r);
  } else {
    %op%_Ev_Iz_64(cpu, insn);
  }
}

function %op%_Gb_Eb(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const b = readE8(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 1) : 0);
  const a = readG8(cpu, insn);
  const r = %expr%;
@@WRITE@@  writeG8(cpu, insn, r);
  f.record(FlagOp.%kind%, 8, a, b, r);
}

function %op%_Gv_Ev(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  if (insn.opSize === 2) {
    const b = readE16(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 2) : 0);
    const a = readG16(cpu, insn);
    const r = %expr%;
@@WRITE@@    writeG16(cpu, insn, r);
    f.record(FlagOp.%kind%, 16, a, b, r);
  } else if (insn.opSize === 4) {
    const b = readE32(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 4) : 0);
    const a = readG32(cpu, insn);
    const r = %expr%;
@@WRITE@@    writeG32(cpu, insn, r);
    f.record(FlagOp.%kind%, 32, a, b, r);
  } else {
    %op%_Gv_Ev_64(cpu, insn);
  }
}

function %op%_AL_Ib(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const g = cpu.regs.gpr;
  const a = g.r8[0];
  const b = insn.imm;
  const r = %expr%;
@@WRITE@@  g.r8[0] = r;
  f.record(FlagOp.%kind%, 8, a, b, r);
}

function %op%_rAX_Iz(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const g = cpu.regs.gpr;
  const b = insn.imm;
  if (insn.opSize === 2) {
    const a = g.r16[0];
    const r = %expr%;
@@WRITE@@    g.r16[0] = r;
    f.record(FlagOp.%kind%, 16, a, b, r);
  } else if (insn.opSize === 4) {
    const a = g.r32[0] >>> 0;
    const r = %expr%;
@@WRITE@@    g.r32[0] = r;
@@WRITE@@    g.r32[GprSlot.High] = 0;
    f.record(FlagOp.%kind%, 32, a, b, r);
  } else {
    %op%_rAX_Iz_64(cpu, insn);
  }
}

function %op%_Ev_Gv_64(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
  const a = readE64(cpu, insn, lin);
  const aHi = cpu.valueHi;
  const b = readG64(cpu, insn);
  const bHi = cpu.valueHi;
%body64%
@@WRITE@@  writeE64(cpu, insn, lin, r, rHi);
%record64%
}

function %op%_Ev_Iz_64(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const lin = insn.isMem ? memoryLinear(cpu, insn, 8) : 0;
  const a = readE64(cpu, insn, lin);
  const aHi = cpu.valueHi;
  const b = insn.imm >>> 0;
  const bHi = insn.imm >> 31;
%body64%
@@WRITE@@  writeE64(cpu, insn, lin, r, rHi);
%record64%
}

function %op%_Gv_Ev_64(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const b = readE64(cpu, insn, insn.isMem ? memoryLinear(cpu, insn, 8) : 0);
  const bHi = cpu.valueHi;
  const a = readG64(cpu, insn);
  const aHi = cpu.valueHi;
%body64%
@@WRITE@@  writeG64(cpu, insn, r, rHi);
%record64%
}

function %op%_rAX_Iz_64(cpu: SoftCpu, insn: Instruction): void {
  const f = cpu.regs.flags;
  const g = cpu.regs.gpr;
  const a = g.r32[0] >>> 0;
  const aHi = g.hi[0];
  const b = insn.imm >>> 0;
  const bHi = insn.imm >> 31;
%body64%
@@WRITE@@  g.r32[0] = r;
@@WRITE@@  g.hi[0] = rHi;
%record64%
}`;

/**
 * One variant: `form` Ev_Gv, Gv_Ev or Ev_Iz; `bits` 16 or 32; `mem` whether the E operand is
 * memory. Same reads, write and flag record, in the same order, as the general form.
 */
function variant(op, expr, kind, store, form, bits, mem) {
  const name = `${op}_${form}_${mem ? 'm' : 'r'}${bits}`;
  const reg = (n) => (bits === 16 ? `g.r16[insn.${n} << 1]` : `g.r32[insn.${n}] >>> 0`);
  const readE = mem ? `cpu.mem.read${bits}(lin)` : reg('rm');
  const writeReg = (n) => (bits === 16 ? [`  g.r16[insn.${n} << 1] = r;`] : [`  g.r32[insn.${n}] = r;`, `  g.r32[insn.${n} | GprSlot.High] = 0;`]);
  const writeE = mem ? [`  cpu.mem.write${bits}(lin, ${bits === 16 ? 'r & 0xffff' : 'r >>> 0'});`] : writeReg('rm');
  const lines = [`function ${name}(cpu: SoftCpu, insn: Instruction): void {`, '  const f = cpu.regs.flags;', '  const g = cpu.regs.gpr;'];
  if (mem) lines.push(`  const lin = memoryLinear(cpu, insn, ${bits / 8});`);
  if (form === 'Gv_Ev') lines.push(`  const b = ${readE};`, `  const a = ${reg('reg')};`);
  else lines.push(`  const a = ${readE};`, `  const b = ${form === 'Ev_Iz' ? 'insn.imm' : reg('reg')};`);
  lines.push(`  const r = ${expr};`);
  if (store) lines.push(...(form === 'Gv_Ev' ? writeReg('reg') : writeE));
  lines.push(`  f.record(FlagOp.${kind}, ${bits}, a, b, r);`, '}');
  return { name, text: lines.join('\n') };
}

const VARIANT_FORMS = ['Ev_Gv', 'Gv_Ev', 'Ev_Iz'];

/** The variants of one operation, and their table rows (key: [r16, r32, m16, m32]). */
function variants([op, expr, kind, store], forms = VARIANT_FORMS) {
  const texts = [];
  const rows = [];
  for (const form of forms) {
    const names = [];
    for (const mem of [false, true]) {
      for (const bits of [16, 32]) {
        const v = variant(op, expr, kind, store, form, bits, mem);
        texts.push(v.text);
        names.push(v.name);
      }
    }
    rows.push(`  ${op}_${form}: [${names.join(', ')}],`);
    if (form === 'Ev_Iz' && op !== 'test') rows.push(`  ${op}_Ev_Ibs: [${names.join(', ')}],`);
  }
  return { text: `// ---- ${op.toUpperCase()}, by size and operand kind\n\n${texts.join('\n\n')}\n`, rows };
}

function section([op, expr, kind, store, body64]) {
  const record64 = `  f.record64(FlagOp.${kind}, a | 0, aHi, b | 0, bHi, r, rHi);`;
  const body = TEMPLATE.replaceAll('%body64%', body64).replaceAll('%record64%', record64).split('\n')
    .filter((line) => store || !line.startsWith('@@WRITE@@'))
    .map((line) => line.replace('@@WRITE@@', ''))
    .join('\n')
    .replaceAll('%op%', op).replaceAll('%expr%', expr).replaceAll('%kind%', kind);
  return `// ---- ${op.toUpperCase()}\n\n${body}\n`;
}

function generate() {
  const table = OPS.flatMap(([op]) => [...FORMS.map((f) => `  ${op}_${f},`), `  ${op}_Ev_Ibs: ${op}_Ev_Iz,`]);
  // TEST (handlers/alu.ts) in its Ev_Gv and Ev_Iz forms: an AND that stores nothing.
  const byKind = [...OPS.map((o) => variants(o)), variants(['test', 'a & b', 'LOGIC', false], ['Ev_Gv', 'Ev_Iz'])];
  return `// GENERATED by packages/core-cpu/scripts/gen-alu-forms.mjs: DO NOT EDIT. Run the script after
// changing it; a test checks this file is current.
/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP) in their ModRM and
 * accumulator forms, one function per operation and form (see the generator for why).
 * 64-bit operand size (REX.W) runs in a separate function per form on 32-bit halves: the
 * carry or borrow out of the low half feeds the high half, and the flags are recorded with
 * both halves (LazyFlags.record64). A 32-bit register write clears bits 63:32.
 */
import { FlagOp } from '../alu/lazy-flags.js';
import type { Instruction } from '../decoder/instruction.js';
import { GprSlot } from '../state/gpr-file.js';
import {
  memoryLinear, readE8, readE16, readE32, readE64, readG8, readG16, readG32, readG64, writeE8, writeE16, writeE32,
  writeE64, writeG8, writeG16, writeG32, writeG64,
} from '../interp/addressing.js';
import type { Handler, HandlerTable } from '../interp/handlers/types.js';
import type { SoftCpu } from '../interp/soft-cpu.js';

${OPS.map(section).join('\n')}
/** All eight operations in their nine forms, keyed as in the opcode table. */
export const ALU_FORM_HANDLERS: HandlerTable = {
${table.join('\n')}
};

${byKind.map((v) => v.text).join('\n')}
/**
 * The v-forms fixed to one size and operand kind, keyed as in the opcode table:
 * [16-bit register, 32-bit register, 16-bit memory, 32-bit memory] (index: (opSize === 4) | isMem << 1).
 */
export const ALU_FORM_VARIANTS: Readonly<Record<string, readonly [Handler, Handler, Handler, Handler]>> = {
${byKind.flatMap((v) => v.rows).join('\n')}
};
`;
}

const text = generate();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(OUT, 'utf8');
  } catch {}
  if (current !== text) {
    console.error('gen-alu-forms: src/generated/alu-forms.ts is stale; run node packages/core-cpu/scripts/gen-alu-forms.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(OUT, text);
  console.log(`gen-alu-forms: wrote ${OUT}`);
}
