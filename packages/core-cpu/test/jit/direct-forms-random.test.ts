/**
 * The JIT's direct forms (src/jit/register-forms.ts: registers and lazy flags in JS locals,
 * memory through the inline TLB fast path) against the interpreter, on random programs
 * (random-programs.ts): each program runs under the interpreter alone and under the JIT at
 * threshold 0 from the same registers and EFLAGS, and everything the guest can see must come
 * out the same: GPRs, full EFLAGS, RIP, instructions retired, HLT, CR2, the data area and the
 * stack. With paging on, accesses go through real 4 KiB translations (TLB misses then inline
 * hits, page crossings, unaligned dwords), and a not-present page gives a #PF in the middle of
 * a translated block; segment checks give a #GP there. Seeds are fixed; a mismatch reports the
 * seed, the disassembly, the values and the program shrunk to the fewest instructions that
 * still differ.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createPortBus, createSharedRamBacking, flatSegment32, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { decode } from '../../src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { CONDITIONS } from '../../src/decoder/opcode-table-1byte.js';
import { disassemble } from '../../src/disasm/intel.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Jit, type JitBackend } from '../../src/jit/jit.js';
import { Mmu } from '../../src/mmu/mmu.js';
import {
  assemble, DATA_START, faultProgram, FS_BASE, GS_LIMIT, randomProgram, shrink, UNMAPPED_PAGE, type Item, type Program,
} from './random-programs.js';

const RAM_SIZE = 0x100000;
const CODE = 0x1000;
const PAGE_DIRECTORY = 0x20000;
const PAGE_TABLE = 0x21000;
const PTE_P_RW = 3;
const CR0_PE = 1;
const CR0_PG = 0x80000000;
const VECTOR_GP = 13;
const VECTOR_PF = 14;
const STACK_TOP = 0x8000;
/** Instructions per run at most: the programs retire a few hundred. */
const RUN_LIMIT = 20_000;
/** Compared after each run (guest-physical): the data area's frames, the unmapped page's, the stack. */
const COMPARED: readonly [number, number][] = [[DATA_START, UNMAPPED_PAGE + 0x1000], [0x7000, 0x8100]];
const REG_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
/**
 * With paging, only these linear pages are present (-> frame): the IDT/GDT/handler page, the
 * code, the data area and the stack, so a stray access faults and fails the run. The data area's
 * pages sit in frames out of order: an access that crosses a page boundary must be split, as
 * two linear neighbours are not neighbours in RAM. Frame 0x6000, behind the not-present
 * UNMAPPED_PAGE, stays unused.
 */
const PRESENT_PAGES: ReadonlyMap<number, number> = new Map([
  [0x0000, 0x0000], [0x1000, 0x1000], [0x3000, 0x5000], [0x4000, 0x3000], [0x5000, 0x4000], [0x7000, 0x7000], [0x8000, 0x8000],
]);

interface Coverage {
  keys: Set<string>;
  loopingBlocks: number;
  /** Translations that covered more than one block (jit/region.ts). */
  multiBlock?: number;
  /** Translations with a branch target inside a block, which the code before it falls into. */
  innerLabels?: number;
  /** Translations made, and how many of them as WebAssembly (jit/wasm/). */
  compiled?: number;
  wasm?: number;
}

/**
 * How the JIT runs translate: every block at once, single blocks (the default here); the
 * multi-block test sets a threshold that lets blocks run first, so translations take them in.
 */
let translation = { threshold: 0, blocks: 1 };
/** The backend the JIT runs use (each describe below sets it). */
let backend: JitBackend = 'wasm';

interface Machine {
  cpu: SoftCpu;
  memory: GuestMemory;
  mmu: Mmu;
}

/**
 * Machines are reused, one per (interpreter or JIT, paging) pair, and reset before each run:
 * building one costs more than running a program (the TLB and decode-cache arrays).
 */
const machines = new Map<string, Machine>();

/**
 * A CPU in flat 32-bit protected mode as jit.test.ts builds it (code at 0x1000, IDT of HLTs at
 * 0x500 + vector, stack at 0x8000), started with `p`'s registers and EFLAGS; FS has a base
 * and GS a limit (random-programs.ts). `paging`: CR0.PG with 4 KiB pages, only PRESENT_PAGES
 * present.
 */
function machine(code: Uint8Array, p: Program, jit: Jit | null, paging: boolean): Machine {
  const key = `${jit === null ? 'interpreter' : 'jit'}/${paging}`;
  let m = machines.get(key);
  if (m === undefined) {
    const memory = new GuestMemory(createSharedRamBacking(RAM_SIZE), [{ gpa: 0, size: RAM_SIZE, offset: 0 }]);
    const mmu = new Mmu(memory, createPortBus());
    m = { cpu: new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu), memory, mmu };
    machines.set(key, m);
  }
  const { cpu, memory, mmu } = m;
  memory.fill(0, RAM_SIZE, 0);
  cpu.flushDecodeCache();
  mmu.flushAll();
  cpu.jit = jit;
  cpu.retired = 0;
  cpu.halted = false;
  cpu.lastException = -1;
  cpu.jitFaultIp = 0;
  cpu.pendingEvents = 0;
  cpu.interruptShadow = false;
  cpu.nmiBlocked = false;
  memory.writeBytes(CODE, code);
  for (let v = 0; v < 32; v++) memory.write8(0x500 + v, 0xf4);
  // GDT at 0x700: null, flat 32-bit code (8), flat data (0x10).
  memory.write32(0x708, 0x0000ffff);
  memory.write32(0x70c, 0x00cf9a00);
  memory.write32(0x710, 0x0000ffff);
  memory.write32(0x714, 0x00cf9200);
  // IDT at 0x600: 32-bit interrupt gates to 0x500 + vector in selector 8.
  for (let v = 0; v < 32; v++) {
    memory.write32(0x600 + v * 8, (8 << 16) | ((0x500 + v) & 0xffff));
    memory.write32(0x600 + v * 8 + 4, 0x8e00);
  }
  if (paging) {
    memory.write32(PAGE_DIRECTORY, PAGE_TABLE | PTE_P_RW);
    for (const [linear, frame] of PRESENT_PAGES) memory.write32(PAGE_TABLE + (linear >>> 12) * 4, frame | PTE_P_RW);
  }
  const s = resetCpuState();
  s.gdt = { base: 0x700n, limit: 23 };
  s.idt = { base: 0x600n, limit: 32 * 8 - 1 };
  s.cs = flatSegment32(8, true);
  for (const k of ['ds', 'es', 'ss'] as const) s[k] = flatSegment32(16, false);
  s.fs = { ...flatSegment32(16, false), base: BigInt(FS_BASE) };
  s.gs = { ...flatSegment32(16, false), limit: GS_LIMIT, g: false };
  const cr0 = paging ? (CR0_PE | CR0_PG) >>> 0 : CR0_PE;
  s.cr0 = BigInt(cr0);
  s.cr3 = paging ? BigInt(PAGE_DIRECTORY) : 0n;
  s.rip = BigInt(CODE);
  for (let n = 0; n < 8; n++) s.gpr[n] = BigInt(p.regs[n] >>> 0);
  s.rflags = BigInt(p.eflags);
  cpu.regs.load(s);
  mmu.setPagingContext({ cr0: cr0 | 0, cr3: paging ? PAGE_DIRECTORY : 0, cr3Hi: 0, cr4: 0, efer: 0 });
  return m;
}

interface Outcome {
  gpr: number[];
  eflags: number;
  rip: number;
  retired: number;
  halted: boolean;
  cr2: number;
  exception: number;
  /** Where the JIT said a fault came from (0: none came from translated code). */
  jitFaultIp: number;
  /** What the run threw ('' when nothing). */
  error: string;
  /** Steps from one WebAssembly translation to the next inside the dispatcher (not compared). */
  wasmChained: number;
  handlerCalls: number;
  memory: Uint8Array[];
}

/**
 * Runs `p` to its HLT (or the #PF handler's) under the interpreter or the JIT; `burst` > 0 runs
 * it in calls of that many instructions (translations stop at the caller's budget).
 */
function run(p: Program, withJit: boolean, paging: boolean, coverage: Coverage | null = null, burst = 0): Outcome {
  const code = assemble(p.items, CODE);
  const jit = withJit
    ? new Jit({
      threshold: translation.threshold,
      blocks: translation.blocks,
      backend,
      onCompile: coverage === null ? null : (compiled, block) => {
        if (compiled.loops) coverage.loopingBlocks++;
        coverage.compiled = (coverage.compiled ?? 0) + 1;
        if (compiled.wasm) coverage.wasm = (coverage.wasm ?? 0) + 1;
        if (/^\/\/ \d+ blocks from/.test(compiled.source)) coverage.multiBlock = (coverage.multiBlock ?? 0) + 1;
        // A case label inside a block: JavaScript's `case`, WebAssembly's listing line.
        if (/k0 \+= \d+;\n\s*\}\n\s*case |^label 0x/m.test(compiled.source)) coverage.innerLabels = (coverage.innerLabels ?? 0) + 1;
        for (const insn of block.insns) coverage.keys.add(insn.opSize === 2 ? `${insn.entry.key}/16` : insn.entry.key);
      },
    })
    : null;
  const { cpu, memory } = machine(code, p, jit, paging);
  // A shrunk candidate may wander off (a loop without its counter, a triple fault): an error
  // ends the run and is part of the outcome.
  let error = '';
  try {
    if (burst === 0) cpu.run(RUN_LIMIT);
    else while (!cpu.halted && cpu.retired < RUN_LIMIT) cpu.run(burst);
  } catch (e) {
    error = String(e);
  }
  return {
    gpr: [...cpu.regs.gpr.r32.subarray(0, 8)],
    eflags: cpu.regs.flags.get(),
    rip: cpu.regs.rip,
    retired: cpu.retired,
    halted: cpu.halted,
    cr2: cpu.regs.cr2,
    exception: cpu.lastException,
    jitFaultIp: cpu.jitFaultIp,
    error,
    wasmChained: cpu.jit?.counters.wasmChained ?? 0,
    handlerCalls: cpu.jit?.counters.handlerCalls ?? 0,
    memory: COMPARED.map(([from, to]) => memory.readBytes(from, to - from)),
  };
}

function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

function flagText(f: number): string {
  const names: [number, string][] = [[0x800, 'OF'], [0x80, 'SF'], [0x40, 'ZF'], [0x10, 'AF'], [0x4, 'PF'], [0x1, 'CF']];
  return `${hex(f)} [${names.filter(([bit]) => f & bit).map(([, n]) => n).join(' ')}]`;
}

/** What differs between the interpreter's run `a` and the JIT's run `b` (empty: nothing). */
function differences(a: Outcome, b: Outcome): string[] {
  const out: string[] = [];
  const field = (name: string, x: string, y: string): void => {
    if (x !== y) out.push(`${name}: interpreter ${x}, JIT ${y}`);
  };
  for (let n = 0; n < 8; n++) field(REG_NAMES[n], hex(a.gpr[n]), hex(b.gpr[n]));
  field('EFLAGS', flagText(a.eflags), flagText(b.eflags));
  field('RIP', hex(a.rip), hex(b.rip));
  field('retired', String(a.retired), String(b.retired));
  field('halted', String(a.halted), String(b.halted));
  field('CR2', hex(a.cr2), hex(b.cr2));
  field('last exception', String(a.exception), String(b.exception));
  field('error', a.error || 'none', b.error || 'none');
  COMPARED.forEach(([from], r) => {
    let shown = 0;
    for (let i = 0; i < a.memory[r].length && shown < 8; i++) {
      if (a.memory[r][i] === b.memory[r][i]) continue;
      field(`physical byte ${hex(from + i)}`, hex(a.memory[r][i]), hex(b.memory[r][i]));
      shown++;
    }
  });
  return out;
}

/** The program as bytes and Intel syntax, one instruction a line. */
function listing(items: readonly Item[]): string {
  const bytes = assemble(items, CODE);
  const insn = newInstruction();
  const lines: string[] = [];
  for (let off = 0; off < bytes.length;) {
    const status = decode({ fetch8: (a) => bytes[a - CODE] ?? 0 }, CODE + off, CpuMode.Bits32, insn);
    if (status !== DecodeStatus.Ok) {
      lines.push(`  ${hex(CODE + off)}: (does not decode)`);
      break;
    }
    const text = [...bytes.subarray(off, off + insn.length)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    lines.push(`  ${hex(CODE + off)}: ${text.padEnd(36)} ${disassemble(insn, CODE + off)}`);
    off += insn.length;
  }
  return lines.join('\n');
}

function describeProgram(p: Program): string {
  return `  start: ${p.regs.map((v, n) => `${REG_NAMES[n]}=${hex(v)}`).join(' ')} eflags=${flagText(p.eflags)}\n${listing(p.items)}`;
}

/**
 * Runs each program both ways; returns a report of the mismatches (seed, program, values, and
 * the program shrunk to the fewest instructions that still differ). `valid` says what is wrong
 * with the interpreter's run of a program (empty: it ran as meant); shrinking keeps to valid
 * programs. `observe` sees both outcomes of every program.
 */
function compareAll(
  programs: Program[], paging: boolean, coverage: Coverage,
  valid: (interp: Outcome, p: Program) => string[],
  observe: (interp: Outcome, jit: Outcome) => void = () => {},
  burst: (p: Program) => number = () => 0,
): string[] {
  const failures: string[] = [];
  const check = (a: Outcome, b: Outcome, q: Program): string[] => [...valid(a, q), ...differences(a, b)];
  for (const p of programs) {
    const a = run(p, false, paging);
    const b = run(p, true, paging, coverage, burst(p));
    observe(a, b);
    const diffs = check(a, b, p);
    if (diffs.length === 0) continue;
    if (failures.length >= 3) {
      failures.push(`seed ${p.seed}: ${diffs[0]}`);
      continue;
    }
    const small = shrink(p, (q) => {
      const a1 = run(q, false, paging);
      return valid(a1, q).length === 0 && differences(a1, run(q, true, paging, null, burst(q))).length > 0;
    });
    const again = check(run(small, false, paging), run(small, true, paging, null, burst(small)), small);
    const how = `paging ${paging ? 'on' : 'off'}${burst(p) > 0 ? `, JIT run in bursts of ${burst(p)}` : ''}`;
    failures.push(
      `seed ${p.seed} (${how}):\n${describeProgram(p)}\n  differences:\n    ${diffs.join('\n    ')}\n` +
      `  shrunk to:\n${describeProgram(small)}\n  differences:\n    ${again.join('\n    ')}`,
    );
  }
  return failures;
}

const CC = CONDITIONS.map(([cc]) => cc);
const ALU_OPS = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const ALU_FORMS = ['Eb_Gb', 'Ev_Gv', 'Gb_Eb', 'Gv_Ev', 'AL_Ib', 'rAX_Iz', 'Eb_Ib', 'Ev_Iz', 'Ev_Ibs'];
const TEST_FORMS = ['Eb_Gb', 'Ev_Gv', 'AL_Ib', 'rAX_Iz', 'Eb_Ib', 'Ev_Iz'];
const WORD_ALU_FORMS = ['Ev_Gv', 'Gv_Ev', 'rAX_Iz', 'Ev_Iz', 'Ev_Ibs'];

/** The handler keys (with /16 for a 0x66 operand size) of every form register-forms.ts writes. */
const DIRECT_FORMS: readonly string[] = [
  ...ALU_OPS.flatMap((op) => ALU_FORMS.map((f) => `${op}_${f}`)),
  ...ALU_OPS.flatMap((op) => WORD_ALU_FORMS.map((f) => `${op}_${f}/16`)),
  ...TEST_FORMS.map((f) => `test_${f}`),
  'test_Ev_Gv/16', 'test_rAX_Iz/16', 'test_Ev_Iz/16',
  'mov_Eb_Gb', 'mov_Ev_Gv', 'mov_Gb_Eb', 'mov_Gv_Ev', 'mov_Eb_Ib', 'mov_Ev_Iz', 'mov_Zb_Ib', 'mov_Zv_Iv',
  'mov_Ev_Gv/16', 'mov_Gv_Ev/16', 'mov_Ev_Iz/16', 'mov_Zv_Iv/16',
  'inc_Zv', 'dec_Zv', 'inc_Ev', 'dec_Ev', 'inc_Eb', 'dec_Eb', 'inc_Zv/16', 'dec_Zv/16', 'inc_Ev/16', 'dec_Ev/16',
  'lea_Gv_M', 'lea_Gv_M/16',
  'movzx_Gv_Eb', 'movzx_Gv_Ew', 'movsx_Gv_Eb', 'movsx_Gv_Ew', 'movzx_Gv_Eb/16', 'movsx_Gv_Eb/16',
  'push_Zv', 'pop_Zv', 'push_Iz', 'push_Ibs',
  ...CC.map((c) => `set${c}_Eb`),
  ...CC.map((c) => `cmov${c}_Gv_Ev`),
  ...CC.map((c) => `j${c}_Jb`),
  ...CC.map((c) => `j${c}_Jz`),
  'shl_Ev_Ib', 'shr_Ev_Ib', 'sar_Ev_Ib', 'shl_Ev_1', 'shr_Ev_1', 'sar_Ev_1',
  'imul_Gv_Ev', 'imul_Gv_Ev_Iz', 'imul_Gv_Ev_Ibs',
];

/** A random program must run to its own HLT (a stray fault would end both runs alike, unnoticed). */
function ranToEnd(a: Outcome, p: Program): string[] {
  const end = CODE + assemble(p.items, CODE).length;
  if (a.error === '' && a.exception === -1 && a.halted && a.rip === end) return [];
  return [`interpreter stopped at ${hex(a.rip)} (exception ${a.exception}${a.error === '' ? '' : `, ${a.error}`}), not at the final HLT`];
}

function seeds(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, k) => first + k);
}

describe.each(['wasm', 'js'] as const)('JIT direct forms (%s translations) against the interpreter on random programs', (which) => {
  beforeAll(() => {
    backend = which;
  });

  it('leaves registers, EFLAGS, RIP, counts and memory as the interpreter does in flat protected mode (500 programs)', () => {
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0 };
    let handlerCalls = 0;
    const failures = compareAll(seeds(1000, 500).map((s) => randomProgram(s)), false, coverage, ranToEnd, (_a, b) => {
      handlerCalls += b.handlerCalls;
    });
    expect(failures, failures.join('\n\n')).toEqual([]);
    // The generator's "handler" instructions (NOT/NEG, XCHG, shifts and rotates on memory, BT
    // with an immediate, 16-bit PUSH/POP ...) have no WebAssembly code of their own: the
    // translations run them through the interpreter's handler (jit/wasm/handler-calls.ts), 834
    // times here. Before that they ended translations, and the loops' remaining blocks were
    // translations the dispatcher went on to (52 steps); now most programs loop inside one
    // translation. jit.test.ts has loops of calls that go on between translations thousands of
    // times.
    if (which === 'wasm') expect(handlerCalls).toBeGreaterThan(200);
    else expect(handlerCalls).toBe(0);
    // The WebAssembly backend translates most blocks (the others, with a form it does not
    // write first, are JavaScript).
    if (which === 'wasm') expect(coverage.wasm, `of ${coverage.compiled}`).toBeGreaterThan((coverage.compiled ?? 0) / 2);
    else expect(coverage.wasm).toBeUndefined();
    expect(DIRECT_FORMS.filter((k) => !coverage.keys.has(k)), 'forms the programs never had translated').toEqual([]);
    expect(coverage.innerLabels, 'translations with a loop head inside a block').toBeGreaterThan(100);
    expect(coverage.loopingBlocks).toBeGreaterThan(20);
  });

  it('leaves the same state with paging on: TLB misses, inline hits, page-crossing and unaligned accesses (300 programs)', () => {
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0 };
    const failures = compareAll(seeds(5000, 300).map((s) => randomProgram(s)), true, coverage, ranToEnd);
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(DIRECT_FORMS.filter((k) => !coverage.keys.has(k)), 'forms the programs never had translated').toEqual([]);
  });

  it('leaves the same state with multi-block translations (blocks run 8 times first, up to 8 blocks a translation; 300 programs)', () => {
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0, multiBlock: 0 };
    translation = { threshold: 8, blocks: 8 };
    try {
      const failures = compareAll(seeds(9000, 300).map((s) => randomProgram(s, 10, 40, true)), true, coverage, ranToEnd);
      expect(failures, failures.join('\n\n')).toEqual([]);
    } finally {
      translation = { threshold: 0, blocks: 1 };
    }
    // Loops split by a JMP to the next instruction: 17 translations of several blocks here, 24
    // with a branch to a label inside a block.
    expect(coverage.multiBlock).toBeGreaterThan(5);
    expect(coverage.innerLabels).toBeGreaterThan(5);
  });

  it('stops translated code at each caller\'s instruction budget and resumes to the interpreter\'s state (150 programs run in bursts of 1..40)', () => {
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0 };
    const burst = (p: Program): number => 1 + ((p.seed * 7) % 40);
    const failures = compareAll(seeds(3000, 150).map((s) => randomProgram(s)), false, coverage, ranToEnd, undefined, burst);
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(coverage.loopingBlocks).toBeGreaterThan(0);
    expect(coverage.innerLabels, 'translations with a loop head inside a block').toBeGreaterThan(0);
  });

  it('delivers a #PF from a not-present page in the middle of a translated block with the interpreter\'s registers, EFLAGS, CR2 and frame (150 programs)', () => {
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0 };
    let fromTranslation = 0;
    let withHandlerCalls = 0;
    const endsInPfHandler = (a: Outcome): string[] => {
      const inHandler = a.error === '' && a.exception === VECTOR_PF && a.halted && a.rip === 0x500 + VECTOR_PF + 1;
      if (inHandler && (a.cr2 & ~0xfff) === UNMAPPED_PAGE) return [];
      return [`interpreter did not end in the #PF handler for the unmapped page (exception ${a.exception}, RIP ${hex(a.rip)}, CR2 ${hex(a.cr2)})`];
    };
    const failures = compareAll(seeds(9000, 150).map((s) => faultProgram(s)), true, coverage, endsInPfHandler, (a, b) => {
      // The frame (error code, EIP, CS, EFLAGS) is in the compared stack bytes; count the faults
      // the JIT raised from translated code, at the faulting instruction.
      const at = a.gpr[4] + 4 - COMPARED[1][0];
      const stack = b.memory[1];
      if (b.jitFaultIp === (stack[at] | (stack[at + 1] << 8) | (stack[at + 2] << 16) | (stack[at + 3] << 24))) fromTranslation++;
      if (b.handlerCalls > 0) withHandlerCalls++;
    });
    expect(failures, failures.join('\n\n')).toEqual([]);
    // With WebAssembly, some of these translations ran instructions through their handler
    // before the fault (their state goes through the register file and back).
    if (which === 'wasm') expect(withHandlerCalls).toBeGreaterThan(0);
    // Every fault comes from translated code (the faulting access is never a program's first instruction).
    expect(fromTranslation).toBe(150);
  });

  it('raises #GP for a write through CS or an access past GS\'s limit in the middle of a translated block as the interpreter does (100 programs)', () => {
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0 };
    const endsInGpHandler = (a: Outcome): string[] =>
      a.error === '' && a.exception === VECTOR_GP && a.halted && a.rip === 0x500 + VECTOR_GP + 1
        ? []
        : [`interpreter did not end in the #GP handler (exception ${a.exception}, RIP ${hex(a.rip)})`];
    const failures = compareAll(seeds(11000, 100).map((s) => faultProgram(s, 'segment')), false, coverage, endsInGpHandler);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });

  it('delivers a #PF raised on a later iteration of a block that loops in its translation', () => {
    const items: Item[] = [
      { kind: 'insn', bytes: [0xbb, 0x00, 0x40, 0x00, 0x00] }, // mov ebx, 0x4000
      { kind: 'insn', bytes: [0xb9, 0x10, 0x00, 0x00, 0x00] }, // mov ecx, 16
      { kind: 'label', id: 0 },
      { kind: 'insn', bytes: [0x03, 0x43, 0xfe] }, //           add eax, [ebx-2]  (crosses a page each time)
      { kind: 'insn', bytes: [0x83, 0xd2, 0x00] }, //           adc edx, 0
      { kind: 'insn', bytes: [0x81, 0xc3, 0x00, 0x10, 0x00, 0x00] }, // add ebx, 0x1000
      { kind: 'insn', bytes: [0x49] }, //                        dec ecx
      { kind: 'jcc', cc: 5, near: false, label: 0 }, //           jnz
      { kind: 'insn', bytes: [0xf4] },
    ];
    const p: Program = { seed: 0, items, regs: [0xfffffff0, 0, 7, 0, STACK_TOP, 0, 0, 0], eflags: 0x2 };
    const coverage: Coverage = { keys: new Set(), loopingBlocks: 0 };
    const a = run(p, false, true);
    const b = run(p, true, true, coverage);
    expect(differences(a, b), describeProgram(p)).toEqual([]);
    expect(coverage.loopingBlocks).toBeGreaterThan(0);
    expect(b.exception).toBe(VECTOR_PF);
    // The third pass reads 0x5ffe..0x6001: the second page is not present.
    expect(b.cr2).toBe(UNMAPPED_PAGE);
    expect(b.gpr[1]).toBe(16 - 2);
    expect(b.jitFaultIp).toBe(CODE + 10);
  });

  it('keeps the iterations a REP MOVSD run through its handler completed before a #PF, as the interpreter does', () => {
    const dword = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const items: Item[] = [
      { kind: 'insn', bytes: [0xbe, ...dword(DATA_START)] }, //         mov esi, DATA_START
      { kind: 'insn', bytes: [0xbf, ...dword(UNMAPPED_PAGE - 8)] }, //  mov edi, UNMAPPED_PAGE - 8
      { kind: 'insn', bytes: [0xb9, 0x10, 0x00, 0x00, 0x00] }, //        mov ecx, 16
      { kind: 'insn', bytes: [0xf3, 0xa5] }, //                          rep movsd (the third dword faults)
      { kind: 'insn', bytes: [0xf4] },
    ];
    const p: Program = { seed: 0, items, regs: [0, 0, 0, 0, STACK_TOP, 0, 0, 0], eflags: 0x2 };
    const a = run(p, false, true);
    const b = run(p, true, true);
    expect(differences(a, b), describeProgram(p)).toEqual([]);
    expect(b.exception).toBe(VECTOR_PF);
    expect(b.cr2).toBe(UNMAPPED_PAGE);
    // Two dwords were copied: ECX, ESI and EDI moved on by two, and the fault is at REP MOVSD.
    expect([b.gpr[1], b.gpr[6], b.gpr[7]]).toEqual([16 - 2, DATA_START + 8, UNMAPPED_PAGE]);
    expect(b.jitFaultIp).toBe(CODE + 15);
    if (backend === 'wasm') expect(b.handlerCalls).toBe(1);
  });
});
