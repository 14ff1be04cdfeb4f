// The one-function-per-form ALU handlers (src/generated/alu-forms.ts, alu.ts) against a reference written
// once with the generic size-parameterised operand helpers: same registers, memory and flags
// for every operation, form, operand size, register/memory operand and carry-in.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FlagOp } from '../../src/alu/lazy-flags.js';
import { Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { memoryLinear, readE, readG, writeE, writeG } from '../../src/interp/addressing.js';
import { ALU_HANDLERS } from '../../src/interp/handlers/alu.js';
import type { SoftCpu } from '../../src/interp/soft-cpu.js';
import { testCpu } from './test-machine.js';

const OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;
type Op = (typeof OPS)[number] | 'test';
const DS = 3;
const MEM = 0x1000;

function refAlu(cpu: SoftCpu, op: Op, size: number, a: number, b: number): number {
  const f = cpu.regs.flags;
  const bits = size << 3;
  let r: number;
  switch (op) {
    case 'add': r = a + b; f.record(FlagOp.ADD, bits, a, b, r); return r;
    case 'adc': r = a + b + f.cf(); f.record(FlagOp.ADD, bits, a, b, r); return r;
    case 'sub': case 'cmp': r = a - b; f.record(FlagOp.SUB, bits, a, b, r); return r;
    case 'sbb': r = a - b - f.cf(); f.record(FlagOp.SUB, bits, a, b, r); return r;
    case 'and': case 'test': r = a & b; break;
    case 'or': r = a | b; break;
    case 'xor': r = a ^ b; break;
  }
  f.record(FlagOp.LOGIC, bits, a, b, r);
  return r;
}

type Form = 'E_G' | 'G_E' | 'E_I' | 'acc' | 'inc' | 'dec' | 'not' | 'neg';

function reference(cpu: SoftCpu, insn: Instruction, op: Op, form: Form, size: number): void {
  const lin = insn.isMem ? memoryLinear(cpu, insn, size) : 0;
  const g = cpu.regs.gpr;
  const f = cpu.regs.flags;
  const writes = op !== 'cmp' && op !== 'test';
  if (form === 'acc') {
    const a = size === 1 ? g.r8[0] : size === 2 ? g.r16[0] : g.r32[0] >>> 0;
    const r = refAlu(cpu, op, size, a, insn.imm);
    if (!writes) return;
    if (size === 1) g.r8[0] = r;
    else if (size === 2) g.r16[0] = r;
    else { g.r32[0] = r; g.hi[0] = 0; }
    return;
  }
  const e = readE(cpu, insn, size, lin);
  if (form === 'G_E') {
    const r = refAlu(cpu, op, size, readG(cpu, insn, size), e);
    if (writes) writeG(cpu, insn, size, r);
    return;
  }
  if (form === 'inc' || form === 'dec') {
    const r = form === 'inc' ? e + 1 : e - 1;
    f.recordKeepCarry(form === 'inc' ? FlagOp.ADD : FlagOp.SUB, size << 3, e, 1, r);
    writeE(cpu, insn, size, lin, r);
    return;
  }
  if (form === 'not') return writeE(cpu, insn, size, lin, ~e);
  if (form === 'neg') {
    f.record(FlagOp.NEG, size << 3, 0, e, -e);
    return writeE(cpu, insn, size, lin, -e);
  }
  const r = refAlu(cpu, op, size, e, form === 'E_I' ? insn.imm : readG(cpu, insn, size));
  if (writes) writeE(cpu, insn, size, lin, r);
}

let seed = 0x1234567;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed ^ (seed >>> 15)) >>> 0;
}
/** Random values weighted towards the edges where carries and overflows happen. */
function value(size: number): number {
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  const edges = [0, 1, mask, mask >>> 1, (mask >>> 1) + 1];
  return (rand() & 3) === 0 ? edges[rand() % edges.length] >>> 0 : (rand() & mask) >>> 0;
}

interface Case { key: string; op: Op; form: Form; size: number }

function cases(): Case[] {
  const list: Case[] = [];
  for (const op of OPS) {
    list.push({ key: `${op}_Eb_Gb`, op, form: 'E_G', size: 1 }, { key: `${op}_Gb_Eb`, op, form: 'G_E', size: 1 });
    list.push({ key: `${op}_Eb_Ib`, op, form: 'E_I', size: 1 }, { key: `${op}_AL_Ib`, op, form: 'acc', size: 1 });
    for (const size of [2, 4]) {
      list.push({ key: `${op}_Ev_Gv`, op, form: 'E_G', size }, { key: `${op}_Gv_Ev`, op, form: 'G_E', size });
      list.push({ key: `${op}_Ev_Iz`, op, form: 'E_I', size }, { key: `${op}_Ev_Ibs`, op, form: 'E_I', size });
      list.push({ key: `${op}_rAX_Iz`, op, form: 'acc', size });
    }
  }
  list.push({ key: 'test_Eb_Gb', op: 'test', form: 'E_G', size: 1 }, { key: 'test_Eb_Ib', op: 'test', form: 'E_I', size: 1 });
  list.push({ key: 'test_AL_Ib', op: 'test', form: 'acc', size: 1 });
  for (const [form, name] of [['inc', 'inc'], ['dec', 'dec'], ['not', 'not'], ['neg', 'neg']] as const) {
    list.push({ key: `${name}_Eb`, op: 'add', form, size: 1 });
  }
  for (const size of [2, 4]) {
    list.push({ key: 'test_Ev_Gv', op: 'test', form: 'E_G', size }, { key: 'test_Ev_Iz', op: 'test', form: 'E_I', size });
    list.push({ key: 'test_rAX_Iz', op: 'test', form: 'acc', size });
    for (const name of ['inc', 'dec', 'not', 'neg'] as const) list.push({ key: `${name}_Ev`, op: 'add', form: name, size });
  }
  return list;
}

describe('specialised ALU handlers', () => {
  it('match the generic reference in registers, memory and flags for every form, size and operand kind', () => {
    const { cpu, memory } = testCpu([0xf4]);
    const insn = newInstruction();
    let checked = 0;
    for (const c of cases()) {
      const handler = ALU_HANDLERS[c.key];
      expect(handler, c.key).toBeTypeOf('function');
      for (let n = 0; n < 48; n++) {
        insn.opSize = c.size === 4 ? 4 : 2;
        insn.addrSize = 2;
        insn.isMem = (n & 1) === 1 && c.form !== 'acc';
        insn.base = -1;
        insn.index = -1;
        insn.disp = MEM;
        insn.segment = DS;
        insn.reg = rand() & 7;
        insn.rm = rand() & 7;
        insn.imm = value(c.size);
        const regs = Array.from({ length: 8 }, () => value(4));
        const mem = value(4);
        const flags = 0x2 | (rand() & 0x8d5);
        const load = () => {
          for (let r = 0; r < 8; r++) {
            cpu.regs.gpr.r32[r] = regs[r];
            cpu.regs.gpr.hi[r] = 0x5a;
          }
          memory.write32(MEM, mem);
          cpu.regs.flags.set(flags);
        };
        const snapshot = () => [...cpu.regs.gpr.r32, ...cpu.regs.gpr.hi, memory.read32(MEM), cpu.regs.flags.get()];
        load();
        handler(cpu, insn);
        const got = snapshot();
        load();
        reference(cpu, insn, c.op, c.form, c.size);
        expect(got, `${c.key} size ${c.size} case ${n}`).toEqual(snapshot());
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(4000);
  });
});

describe('the generated ALU handlers', () => {
  it('are current with their generator', () => {
    const script = fileURLToPath(new URL('../../scripts/gen-alu-forms.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
