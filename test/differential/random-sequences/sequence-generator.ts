/**
 * Random instruction sequences from the opcode table, for the KVM-vs-tcg differential test.
 * One 32-bit seed gives one sequence: 1-8 instructions drawn from POOL (instruction-pool.ts),
 * each with random prefixes (66, 67, REX W/R/X/B, LOCK on lockable memory forms, REP/REPNE on
 * string ops, ignored CS/DS/ES/SS overrides), random ModRM register or memory forms
 * (memory-operand.ts), random immediates, plus the input state: 16 GPRs biased to edge values,
 * the arithmetic flags and DF, the data area and the user stack.
 *
 * Determinism rules the generator keeps so the real CPU's result is the only correct one:
 * every memory address is set up right before its instruction; branches only go forward, to
 * the start of a later instruction or the end (an indirect JMP/CALL gets a forward code
 * address); REP counts are small; RSP is a random destination only rarely. Setup instructions
 * (`mov r64, imm64`) are marked as such in the listing but run like any other.
 */
import { decode } from '../../../packages/core-cpu/src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../../packages/core-cpu/src/decoder/instruction.js';
import { HOST_MATCHES_UNDEFINED } from '../undefined-flags.js';
import { OperandMethod, OperandSize, operandMethod, operandSizeCode } from '../../../packages/core-cpu/src/decoder/operands.js';
import { ENTRY_LOCK, ENTRY_REP, ENTRY_REPE, type OpcodeEntry } from '../../../packages/core-cpu/src/decoder/opcode-types.js';
import { disassemble } from '../../../packages/core-cpu/src/disasm/intel.js';
import { INPUT_RFLAGS_MASK, type SandboxInput } from '../kvm-user-sandbox.js';
import {
  CODE_BASE, CODE_PAGES, DATA_BASE, DATA_SIZE, PAGE_SIZE, STACK_TOP, USER_STACK_BASE, USER_STACK_SIZE,
} from '../sandbox-layout.js';
import { OPCODE_TABLE } from '../../../packages/core-cpu/src/decoder/opcode-table.js';
import { memoryOperand, pickDataTarget, type MemoryOperand, type Setup } from './memory-operand.js';
import { POOL, weightOf } from './instruction-pool.js';
import { Random } from './random.js';

export interface ListedInstruction {
  offset: number;
  bytes: Uint8Array;
  /** Table key of the instruction; 'setup' for the generator's own `mov r64, imm64`. */
  key: string;
  setup: boolean;
  text: string;
}

export interface Sequence {
  seed: number;
  input: SandboxInput & { data: Uint8Array; stack: Uint8Array };
  listing: ListedInstruction[];
  /** Table keys of the random (non-setup) instructions. */
  keys: string[];
  /** Quadwords the generator wrote over the random data (indirect branch targets). */
  dataPatches: { offset: number; value: bigint }[];
}

/** A sequence in a form that survives generator changes (regression-cases.ts). */
export interface SequenceCase {
  /** Seeds the random data area and stack (initialMemory). */
  seed: number;
  /** Code bytes, hex. */
  code: string;
  /** The 16 GPRs, hex. */
  gpr: string[];
  rflags: number;
  /** [data offset, quadword hex] written over the random data. */
  patches?: [number, string][];
}

type Fixup =
  | { kind: 'rel'; at: number; size: 1 | 4; label: number }
  /** A rel32 branch out of the code: to the non-present page after it or into the NX data area (#PF on fetch). */
  | { kind: 'wild'; at: number; target: bigint }
  | { kind: 'abs64'; at: number; label: number }
  | { kind: 'rip'; at: number; target: number }
  | { kind: 'data64'; target: number; label: number };

interface Piece {
  bytes: number[];
  entry: OpcodeEntry | null;
  fixups: Fixup[];
}

const RSP = 4;
const RBP = 5;
const RSI = 6;
const RDI = 7;
const RCX = 1;
const RDX = 2;
const RBX = 3;
const MAX_INSTRUCTIONS = 8;
const JMP_REL32 = OPCODE_TABLE.find((e) => e.op === 0xe9)!;
const insn = newInstruction();

interface Draw {
  entries: readonly OpcodeEntry[];
  cumulative: number[];
}

function makeDraw(exclude: ReadonlySet<string> | undefined): Draw {
  const entries = exclude === undefined ? POOL : POOL.filter((e) => !exclude.has(e.key));
  let total = 0;
  return { entries, cumulative: entries.map((e) => (total += weightOf(e))) };
}

const FULL_DRAW = makeDraw(undefined);
const drawCache = new WeakMap<ReadonlySet<string>, Draw>();

function drawEntry(r: Random, draw: Draw): OpcodeEntry {
  const { entries, cumulative } = draw;
  const x = r.next() * cumulative[cumulative.length - 1];
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return entries[lo];
}

const uses = (e: OpcodeEntry, method: number): boolean => e.ops.some((d) => operandMethod(d) === method);
/** True when the operand taking ModRM.reg (G) or rm (E) is byte sized (4-7 then mean AH..BH or SPL..DIL). */
const byteOperand = (e: OpcodeEntry, method: number): boolean =>
  e.ops.some((d) => operandMethod(d) === method && operandSizeCode(d) === OperandSize.B);

/** `mov r64, imm64` (REX.W B8+r io). */
function movImm64(reg: number, value: bigint): number[] {
  const out = [0x48 | (reg >> 3), 0xb8 + (reg & 7)];
  for (let i = 0n; i < 8n; i++) out.push(Number((value >> (8n * i)) & 0xffn));
  return out;
}

function setupPiece(s: Setup): Piece {
  if ('value' in s) return { bytes: movImm64(s.reg, s.value), entry: null, fixups: [] };
  return { bytes: movImm64(s.reg, 0n), entry: null, fixups: [{ kind: 'abs64', at: 2, label: s.label }] };
}

function small(r: Random, limit: number): bigint {
  return BigInt(r.int(limit));
}

/** Immediate filler: small values (both signs) often, arbitrary bytes otherwise. */
function immediateBytes(r: Random): number[] {
  const p = r.next();
  if (p < 0.3) return [r.int(16), 0, 0, 0, 0, 0, 0, 0];
  if (p < 0.4) return [0xff - r.int(4), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
  if (p < 0.5) return [r.int(8) === 0 ? 0x80 : r.int(256), 0x80, 0, 0x80, 0, 0, 0, 0x80].map((b, i) => (i === 0 ? b : r.bit() ? b : 0));
  return Array.from({ length: 8 }, () => r.int(256));
}

function shuffle<T>(r: Random, xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

/**
 * Encodes `e` at random; returns the setup pieces and the instruction, or null when the random
 * choices did not decode back to `e` (the caller retries). `block` is this instruction's
 * position and `count` the sequence length, for branch targets.
 */
/** JMP, Jcc, CALL, RET, LOOPcc, JrCXZ (far forms too: the vendors differ on their operand size in 64-bit mode as well). */
function isBranch(m: string): boolean {
  return /^(j|call|ret|loop)/.test(m);
}

function buildInstruction(r: Random, e: OpcodeEntry, block: number, count: number): Piece[] | null {
  const m = e.names[0];
  const isString = uses(e, OperandMethod.X) || uses(e, OperandMethod.Y);
  const branchTarget = (): number => block + 1 + r.int(count - block);
  const legacy: number[] = [];
  const setups: Setup[] = [];
  const avoid = new Set<number>();
  const fixups: Fixup[] = [];

  const implicitMemory = isString || uses(e, OperandMethod.O) || uses(e, OperandMethod.Xlat) || m.startsWith('loop') || m === 'jcxz';
  let modrm = -1;
  let mem: MemoryOperand | null = null;
  let rex = 0;
  // A 66 prefix on a branch: ignored by Intel cores in 64-bit mode (tsemu follows them), honoured
  // by AMD's (a 16-bit displacement and IP): drawn, but left off on a host that is not Intel's.
  if (r.next() < 0.25 && (HOST_MATCHES_UNDEFINED || !isBranch(m))) legacy.push(0x66);
  // A 67-prefixed string instruction: Intel cores clear bits 63:32 of RCX, RSI and RDI (tsemu
  // too), AMD's leave them. And a REP CMPS/SCAS that faults on the unmapped page: the vendors
  // leave different flags. Neither is drawn on a host that is not Intel's.
  const vendorSafeStrings = isString && !HOST_MATCHES_UNDEFINED;
  const addr32Wanted = r.next() < 0.2 && !vendorSafeStrings;

  // Roles the instruction reads implicitly, set to values that keep it deterministic and useful.
  if (isString) {
    // Source and destination apart (the usual case), overlapping by a few bytes either way
    // (REP MOVS must then copy element by element), or one of them running into the unmapped
    // page after the data area (a fault in the middle of a REP leaves RCX/RSI/RDI at that element).
    const p = r.next();
    let rsi = DATA_BASE + BigInt(0x800 + r.int(0x100));
    let rdi = DATA_BASE + BigInt(0x1000 + r.int(0x100));
    if (p < 0.25) rdi = rsi + BigInt(r.int(33) - 16);
    else if (p < 0.35 && !vendorSafeStrings) (r.bit() ? (rdi = DATA_BASE + BigInt(DATA_SIZE - r.int(48))) : (rsi = DATA_BASE + BigInt(DATA_SIZE - r.int(48))));
    setups.push({ reg: RSI, value: rsi | (addr32Wanted ? BigInt(r.u32()) << 32n : 0n) });
    setups.push({ reg: RDI, value: rdi | (addr32Wanted ? BigInt(r.u32()) << 32n : 0n) });
    avoid.add(RSI).add(RDI);
    if ((e.attrs & ENTRY_REP) !== 0 && r.next() < 0.6) {
      legacy.push((e.attrs & ENTRY_REPE) !== 0 && r.bit() ? 0xf2 : 0xf3);
      const count = r.next() < 0.8 ? small(r, 9) : small(r, 65);
      setups.push({ reg: RCX, value: count | (addr32Wanted ? BigInt(r.u32()) << 32n : 0n) });
      avoid.add(RCX);
    }
  }
  if (m === 'xlat') {
    setups.push({ reg: RBX, value: DATA_BASE + BigInt(0x200 + r.int(0x100)) });
    avoid.add(RBX);
  }
  if ((m === 'div' || m === 'idiv') && r.next() < 0.6) {
    setups.push({ reg: RDX, value: small(r, 3) });
    avoid.add(RDX);
  }
  if (m === 'popf') {
    // POPF of a controlled image: AC stays clear (it raises #AC on this host, where PVM runs CPL3
    // code with CR0.AM = 1), TF is set now and then (a #DB after the next instruction).
    const tmp = r.pick([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    const image = (r.value64() & ~((1n << 8n) | (1n << 18n))) | (r.next() < 0.2 ? 1n << 8n : 0n);
    return [setupPiece({ reg: tmp, value: image }), { bytes: tmp >= 8 ? [0x41, 0x50 + (tmp & 7)] : [0x50 + tmp], entry: null, fixups: [] }, ...popfPieces(r, e)];
  }
  const pushes: Piece[] = [];
  if (m === 'ret' && r.next() < 0.7) {
    // Mostly a RET to a forward label pushed just before it; otherwise it pops random stack bytes.
    const tmp = r.pick([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    setups.push({ reg: tmp, label: branchTarget() });
    pushes.push({ bytes: tmp >= 8 ? [0x41, 0x50 + (tmp & 7)] : [0x50 + tmp], entry: null, fixups: [] });
  }
  if (m === 'leave' || m === 'enter') {
    setups.push({ reg: RBP, value: STACK_TOP - 0x800n - 8n * small(r, 16) });
    avoid.add(RBP);
  }

  if (e.hasModrm) {
    const regs = e.reg === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : Array.isArray(e.reg) ? e.reg : [e.reg];
    const reg = r.pick(regs);
    const memOnly = e.mod === 'mem' || uses(e, OperandMethod.M);
    const regOnly = e.mod === 'reg' || uses(e, OperandMethod.R);
    const isMem = memOnly || (!regOnly && r.next() < 0.5);
    let rexR = e.reg === undefined && r.next() < 0.4 ? 1 : 0;
    // RSP as a random destination wrecks the rest of the sequence: rarely allowed.
    if (e.reg === undefined && reg === RSP && rexR === 0 && !byteOperand(e, OperandMethod.G) && r.next() < 0.9) rexR = 1;
    if (m.startsWith('bt') && isMem && uses(e, OperandMethod.G) && r.next() < 0.7) {
      // A small bit offset keeps BT* m, r inside the data area most of the time.
      const g = reg | (rexR << 3);
      setups.push({ reg: g, value: BigInt.asUintN(64, BigInt(r.int(320) - 64)) });
      avoid.add(g);
    }
    if (isMem) {
      const addr32 = addr32Wanted;
      if (addr32) legacy.push(0x67);
      const branch = m === 'jmp' || m === 'call';
      mem = memoryOperand(r, addr32, avoid, m.startsWith('cmpxchg') && r.next() < 0.7, branch);
      modrm = (mem.mod << 6) | ((reg & 7) << 3) | mem.rm;
      rex |= (rexR << 2) | (mem.rexX << 1) | mem.rexB;
      setups.push(...mem.setups);
      if ((e.attrs & ENTRY_LOCK) !== 0 && r.next() < 0.4) legacy.push(0xf0);
      if (r.next() < 0.1) legacy.push(r.pick([0x26, 0x2e, 0x36, 0x3e]));
      if (branch && mem.dataTarget !== null) fixups.push({ kind: 'data64', target: mem.dataTarget, label: branchTarget() });
    } else {
      const rm = e.rm ?? r.int(8);
      let rexB = r.next() < 0.4 ? 1 : 0;
      if (e.rm === undefined && rm === RSP && rexB === 0 && !byteOperand(e, OperandMethod.E) && r.next() < 0.9) rexB = 1;
      if (m === 'jmp' || m === 'call') {
        if (rm === RSP) rexB = 1;
        setups.push({ reg: rm | (rexB << 3), label: branchTarget() });
      }
      modrm = 0xc0 | ((reg & 7) << 3) | rm;
      rex |= (rexR << 2) | rexB;
    }
  } else {
    if (implicitMemory && addr32Wanted) legacy.push(0x67);
    if (uses(e, OperandMethod.Z)) {
      let b = r.next() < 0.4 ? 1 : 0;
      if ((e.op & 7) === RSP && b === 0 && !byteOperand(e, OperandMethod.Z) && m !== 'push' && r.next() < 0.9) b = 1;
      rex |= b;
    }
  }
  // tsemu's CPUID has no CX16, so REX.W CMPXCHG8B (= CMPXCHG16B) is #UD there but not on the host.
  if (r.next() < 0.4 && m !== 'cmpxchg8b') rex |= 8;
  // Now and then a LOCK where it is not allowed (register form, or not lockable): #UD.
  // Not on the hint NOPs (0F 18-0F 1F): this CPU ignores LOCK there instead of raising #UD.
  const stray = r.next() < 0.02 && !legacy.includes(0xf0) && m !== 'nop';
  if (stray) legacy.push(0xf0);
  if (rex !== 0 || r.next() < 0.2) rex |= 0x40;
  shuffle(r, legacy);

  const bytes = [...legacy];
  if (rex !== 0) bytes.push(rex);
  if (e.op >= 0x0f00) bytes.push(0x0f);
  bytes.push(e.op & 0xff);
  let dispAt = -1;
  if (modrm >= 0) {
    bytes.push(modrm);
    if (mem !== null) {
      if (mem.sib >= 0) bytes.push(mem.sib);
      dispAt = bytes.length;
      bytes.push(...mem.disp);
    }
  }
  const immAt = bytes.length;
  bytes.push(...immediateBytes(r));
  const status = decode({ fetch8: (a: number) => bytes[a] ?? 0 }, 0, CpuMode.Bits64, insn);
  const ok = status === DecodeStatus.Ok || (stray && status === DecodeStatus.LockInvalid);
  if (!ok || insn.entry !== e) return null;
  bytes.length = insn.length;

  if (mem?.ripTarget != null) fixups.push({ kind: 'rip', at: dispAt, target: mem.ripTarget });
  if (uses(e, OperandMethod.J)) {
    const size = insn.length - immAt === 1 ? 1 : 4;
    if (size === 4 && r.next() < 0.03) {
      const target = r.bit() ? CODE_BASE + BigInt(CODE_PAGES * PAGE_SIZE + r.int(64)) : DATA_BASE + BigInt(r.int(0x100));
      fixups.push({ kind: 'wild', at: insn.length - 4, target });
    } else fixups.push({ kind: 'rel', at: insn.length - size, size, label: branchTarget() });
  }
  if (uses(e, OperandMethod.O)) {
    const address = DATA_BASE + BigInt(pickDataTarget(r));
    for (let i = immAt; i < insn.length; i++) bytes[i] = Number((address >> BigInt(8 * (i - immAt))) & 0xffn);
  }
  if (m === 'enter') {
    // A small frame (Iw) and nesting level 0 or 1 mostly; higher levels copy frame pointers from [rbp].
    bytes[immAt] = r.int(0x40);
    bytes[immAt + 1] = 0;
    bytes[immAt + 2] = r.next() < 0.9 ? r.int(2) : r.int(32);
  }
  return [...setups.map(setupPiece), ...pushes, { bytes, entry: e, fixups }];
}

/** POPF itself, with a 66 (16-bit image) or REX now and then. */
function popfPieces(r: Random, e: OpcodeEntry): Piece[] {
  const bytes = r.next() < 0.2 ? [0x66, 0x9d] : r.next() < 0.2 ? [0x48, 0x9d] : [0x9d];
  return [{ bytes, entry: e, fixups: [] }];
}

function layout(blocks: Piece[][], patches: Sequence['dataPatches']): { code: Uint8Array; offsets: number[] } {
  const labels: number[] = [];
  let size = 0;
  for (const block of blocks) {
    labels.push(size);
    for (const p of block) size += p.bytes.length;
  }
  labels.push(size);
  const code = new Uint8Array(size);
  const offsets: number[] = [];
  let at = 0;
  for (const [k, block] of blocks.entries()) {
    for (const p of block) {
      const end = at + p.bytes.length;
      for (const f of p.fixups) {
        if (f.kind === 'rel') {
          let label = f.label;
          // Out of rel8 range: fall back to the nearest later label (the next block is at distance 0).
          if (f.size === 1) while (labels[label] - end > 127) label--;
          if (label <= k) label = k + 1;
          const rel = labels[label] - end;
          for (let i = 0; i < f.size; i++) p.bytes[f.at + i] = (rel >>> (8 * i)) & 0xff;
        } else if (f.kind === 'wild') {
          const rel = Number(f.target - (CODE_BASE + BigInt(end)));
          for (let i = 0; i < 4; i++) p.bytes[f.at + i] = (rel >>> (8 * i)) & 0xff;
        } else if (f.kind === 'abs64') {
          const value = CODE_BASE + BigInt(labels[f.label]);
          for (let i = 0; i < 8; i++) p.bytes[f.at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
        } else if (f.kind === 'rip') {
          const rel = Number(DATA_BASE + BigInt(f.target) - (CODE_BASE + BigInt(end)));
          for (let i = 0; i < 4; i++) p.bytes[f.at + i] = (rel >>> (8 * i)) & 0xff;
        } else if (f.target + 8 <= DATA_SIZE) {
          patches.push({ offset: f.target, value: CODE_BASE + BigInt(labels[f.label]) });
        }
      }
      code.set(p.bytes, at);
      offsets.push(at);
      at = end;
    }
  }
  return { code, offsets };
}

/** Disassembly of `code` as laid out, one line per piece. */
function list(code: Uint8Array, offsets: number[], setups: boolean[]): ListedInstruction[] {
  return offsets.map((offset, i) => {
    const end = i + 1 < offsets.length ? offsets[i + 1] : code.length;
    const bytes = code.slice(offset, end);
    decode({ fetch8: (a: number) => code[a] ?? 0 }, offset, CpuMode.Bits64, insn);
    const address = CODE_BASE + BigInt(offset);
    return { offset, bytes, key: setups[i] ? 'setup' : insn.entry.key, setup: setups[i], text: disassemble(insn, address) };
  });
}

/**
 * The sequence for `seed` (the same seed and `exclude` always give the same sequence).
 * `exclude` removes table keys from the draw (instructions not implemented yet).
 */
export function generateSequence(seed: number, exclude?: ReadonlySet<string>): Sequence {
  let draw = FULL_DRAW;
  if (exclude !== undefined && exclude.size > 0) {
    draw = drawCache.get(exclude) ?? makeDraw(exclude);
    drawCache.set(exclude, draw);
  }
  const r = new Random(seed);
  const count = 1 + r.int(MAX_INSTRUCTIONS);
  const blocks: Piece[][] = [];
  // One sequence in ten starts with a jump over INT3 filler to just below a page boundary, so
  // its instructions straddle two code pages (decode and the decode cache across pages).
  const base = r.next() < 0.1 ? 1 : 0;
  if (base === 1) {
    const filler = PAGE_SIZE - 0x10 - 5 + r.int(16);
    blocks.push([
      { bytes: [0xe9, 0, 0, 0, 0], entry: JMP_REL32, fixups: [{ kind: 'rel', at: 1, size: 4, label: 1 }] },
      { bytes: new Array<number>(filler).fill(0xcc), entry: null, fixups: [] },
    ]);
  }
  for (let k = 0; k < count; k++) {
    for (;;) {
      const e = drawEntry(r, draw);
      let built: Piece[] | null = null;
      for (let attempt = 0; attempt < 8 && built === null; attempt++) built = buildInstruction(r, e, k + base, count + base);
      if (built !== null) {
        blocks.push(built);
        break;
      }
    }
  }

  const gpr = Array.from({ length: 16 }, () => r.value64());
  // RSP inside the user stack, 8-aligned mostly, with room for pushes both ways.
  gpr[RSP] = STACK_TOP - 0x1000n - 8n * small(r, 32) + (r.next() < 0.05 ? small(r, 8) : 0n);
  // Now and then at an edge of the stack: a PUSH/CALL or POP/RET/LEAVE faults part way and the
  // CPU must leave RSP as it was. Not below an ENTER (the CPU probes the new frame's lowest
  // byte, tsemu does not: reported), and never non-canonical (PVM's results are unreliable then:
  // spurious #UD on a NOP, other flags).
  const edge = r.next();
  const enters = blocks.some((b) => b[b.length - 1].entry?.names[0] === 'enter');
  if (edge < 0.03 && !enters) gpr[RSP] = USER_STACK_BASE + small(r, 0x20);
  else if (edge < 0.06) gpr[RSP] = STACK_TOP - small(r, 0x20);
  const flagBits = [0x1, 0x4, 0x10, 0x40, 0x80, 0x800];
  let rflags = 0n;
  for (const b of flagBits) if (r.bit()) rflags |= BigInt(b);
  if (r.next() < 0.2) rflags |= 0x400n; // DF
  const dataPatches: Sequence['dataPatches'] = [];
  const { code, offsets } = layout(blocks, dataPatches);
  const { data, stack } = initialMemory(seed, gpr[RSP], dataPatches);
  const setups = blocks.flatMap((b) => b.map((p) => p.entry === null));
  return {
    seed,
    input: { code, gpr, rflags: rflags & INPUT_RFLAGS_MASK, data, stack },
    listing: list(code, offsets, setups),
    keys: blocks.slice(base).map((b) => b[b.length - 1].entry!.key),
    dataPatches,
  };
}

/**
 * The data area and user stack of a sequence: random where instructions look (the start and
 * the end of the data area, around RSP), from a stream of its own so that they depend on the
 * seed and RSP only, not on the generator's instruction choices.
 */
export function initialMemory(seed: number, rsp: bigint, patches: Sequence['dataPatches']): { data: Uint8Array; stack: Uint8Array } {
  const r = new Random((seed ^ 0x6a09e667) >>> 0);
  const data = new Uint8Array(DATA_SIZE);
  r.fill(data, 0, 0x2000);
  r.fill(data, DATA_SIZE - 0x100, DATA_SIZE);
  const view = new DataView(data.buffer);
  for (const p of patches) view.setBigUint64(p.offset, p.value, true);
  const stack = new Uint8Array(USER_STACK_SIZE);
  const rspOffset = Math.max(0, Math.min(USER_STACK_SIZE, Number(rsp - USER_STACK_BASE)));
  r.fill(stack, Math.max(0, rspOffset - 0x400), Math.min(USER_STACK_SIZE, rspOffset + 0x400));
  return { data, stack };
}

/** The self-contained form of a sequence, for regression-cases.ts. */
export function toCase(sequence: Sequence): SequenceCase {
  const c: SequenceCase = {
    seed: sequence.seed,
    code: Buffer.from(sequence.input.code).toString('hex'),
    gpr: sequence.input.gpr.map((v) => BigInt.asUintN(64, v).toString(16)),
    rflags: Number(sequence.input.rflags),
  };
  if (sequence.dataPatches.length > 0) c.patches = sequence.dataPatches.map((p) => [p.offset, p.value.toString(16)]);
  return c;
}

/** Rebuilds a sequence from its self-contained form (listing by linear disassembly). */
export function fromCase(c: SequenceCase): Sequence {
  const code = Uint8Array.from(Buffer.from(c.code, 'hex'));
  const gpr = c.gpr.map((h) => BigInt(`0x${h}`));
  const dataPatches = (c.patches ?? []).map(([offset, value]) => ({ offset, value: BigInt(`0x${value}`) }));
  const { data, stack } = initialMemory(c.seed, gpr[RSP], dataPatches);
  const offsets: number[] = [];
  for (let at = 0; at < code.length;) {
    offsets.push(at);
    if (code[at] === 0xcc && code[at + 1] === 0xcc) {
      // INT3 filler (a page-crossing sequence): one listing line.
      while (code[at] === 0xcc) at++;
      continue;
    }
    const status = decode({ fetch8: (a: number) => code[a] ?? 0 }, at, CpuMode.Bits64, insn);
    at += status === DecodeStatus.Ok || status === DecodeStatus.LockInvalid ? insn.length : 1;
  }
  const listing = list(code, offsets, offsets.map(() => false));
  return {
    seed: c.seed,
    input: { code, gpr, rflags: BigInt(c.rflags), data, stack },
    listing,
    keys: listing.map((l) => l.key),
    dataPatches,
  };
}
