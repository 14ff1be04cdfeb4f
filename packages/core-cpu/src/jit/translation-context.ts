/**
 * The guest state a translated block keeps in JS locals, and the code that reads and writes it.
 *
 * - **Registers**: EAX..EDI live in locals e0..e7 (int32) from the block's entry. They are
 *   written back ("spilled") before anything that reads the register file (a handler call, an
 *   exit, a fault) and reloaded after a handler call, which may have changed any of them.
 * - **Flags**: see flag-state.ts.
 * - **Memory**: an access is the software TLB's hit test written out in place (one Int32Array
 *   load, a mask compare and the RAM load or store; a word or dword only when aligned, as one
 *   Uint16Array or Int32Array access: an aligned one never crosses a page, and the rare
 *   unaligned one is not worth the bytecode in every translation); a miss, MMIO, a page
 *   crossing, an unaligned word or dword or a code page calls the CPU's memory object as the
 *   interpreter does. The test's masks are the MMU's at translation (they follow CPL, CR4 and
 *   EFLAGS.AC), written in as constants.
 * - **Segments**: a segment that was flat at translation (base 0, limit 4 GiB) is addressed in
 *   the flat form (see `flat`); any other has its base, limit and "plain writable data segment"
 *   test in locals, and what fails that test takes addressing.ts's general path.
 * - **State**: the translation runs only while the masks, the flat segments and a 32-bit SS are
 *   as at translation: checked on entry (it returns 0 without running otherwise, and the run
 *   loop translates the block again) and after each handler call (which may change them).
 *
 * Direct code is only written for legacy (non-IA-32e) 16/32-bit mode: there bits 63:32 of the
 * registers are not visible, so a 32-bit write need not clear them until the block spills.
 */
import type { Instruction } from '../decoder/instruction.js';
import { WRITABLE_SIMPLE_MASK, WRITABLE_SIMPLE_VALUE } from '../interp/protected/segment-checks.js';
import { Attr } from '../state/segment-cache.js';
import { materialize, MEMORY_FLAGS, type StaticFlags } from './flag-state.js';
import type { AccessMasks } from '../mmu/mmu.js';

export const SS = 2;

/**
 * The inline TLB hit of an access of `size` bytes at linear $L, whose TLB entry is in $T: the
 * test (the entry's rights, and alignment for a word or dword: an aligned one never crosses a
 * page) and the RAM element it reaches (MB, M16 or M32, one typed-array access).
 */
function ramHit(size: number, mask: number, expect: number): { hit: string; ram: string } {
  const offset = '($T & -4096) | ($L & 4095)';
  if (size === 1) return { hit: `($T & ${mask}) === ${expect}`, ram: `MB[${offset}]` };
  const [array, shift] = size === 4 ? ['M32', 2] : ['M16', 1];
  return { hit: `($T & ${mask}) === ${expect} && ($L & ${size - 1}) === 0`, ram: `${array}[(${offset}) >> ${shift}]` };
}

/** For translations without inline RAM access (no MMU): no hit test is written. */
const NO_MASKS: AccessMasks = { readMask: 0, readExpect: 0, writeMask: 0, writeExpect: 0 };

/** JS expression: segment `s` is flat (a plain writable data segment, base 0, limit 4 GiB). */
function flatTest(s: number): string {
  return `($sa[${s}] & ${WRITABLE_SIMPLE_MASK}) === ${WRITABLE_SIMPLE_VALUE} && $sb[${s}] === 0 && $sl[${s}] === -1`;
}

/**
 * Leaves the translation after `done` instructions with RIP = `rip` (JS expressions): every
 * exit goes through the one epilogue at the end of the function (block-compiler.ts), which
 * writes the registers back, hands the flag record to LazyFlags and stores RIP and the retired
 * count. One copy of that code instead of one per exit keeps translations small: V8 compiles
 * them sooner and they take less of the instruction cache.
 */
export function exitTo(done: string, rip: string): string {
  return `{ $n = ${done}; $x = ${rip}; break out; }`;
}

/** Placeholders for the spill and reload statements, filled in when the whole block is known. */
export const SPILL_MARK = '@SPILL@';
export const RELOAD_MARK = /@RELOAD\((\d+),(-?\d+|same)\)@/g;

export class TranslationContext {
  readonly lines: string[] = [];
  /** Index of the instruction being translated in the whole translation (names I<j>, H<j>). */
  j = 0;
  /** Its index in its own block (counts: the block's instructions before it are done). */
  local = 0;
  /** What is known here about the flags. */
  flags: StaticFlags = MEMORY_FLAGS;
  /** Registers the direct code reads or writes (declared as locals, reloaded after calls). */
  readonly usedRegs = new Set<number>();
  /** Registers the direct code writes, and those it writes as a whole dword. */
  readonly writtenRegs = new Set<number>();
  readonly dwordRegs = new Set<number>();
  /** Segments the direct code addresses through. */
  readonly usedSegs = new Set<number>();
  /** True once an instruction used the 32-bit stack directly (the entry checks SS.B). */
  usesStack = false;
  /** True when the current instruction touched memory (an event check follows it). */
  touchedMemory = false;
  /** Segments addressed in the flat form (see `linear`): their test `fl<n>` is in a local. */
  readonly flatSegs = new Set<number>();
  /**
   * After a flat-form address (`linear`, `segmentLinear`): the statements that compute the
   * address the general way, for the access's slow path.
   */
  private flatPending: string | null = null;

  constructor(
    /** The MMU's TLB is there to be read inline (false: every access calls cpu.mem). */
    readonly fastMemory: boolean,
    /**
     * SS was a 32-bit stack when the block was translated: only then are PUSH/POP/CALL/RET
     * written directly (the translation checks it again on entry).
     */
    readonly stack32: boolean,
    /**
     * Bit n set: segment n was flat when the block was translated (a plain writable data
     * segment, base 0, limit 4 GiB). Accesses through it are then written in the flat form.
     */
    readonly flatAtTranslation = 0,
    /**
     * The MMU's fast-path masks when the block was translated (they follow CPL, CR4 and
     * EFLAGS.AC): written into the hit tests as constants. The translation runs only while they
     * hold (checked on entry and after every handler call).
     */
    readonly masks: AccessMasks = NO_MASKS,
  ) {}

  /** Begins instruction `j` of the translation, `local` of its block (see the fields). */
  startInstruction(j: number, local: number): void {
    this.j = j;
    this.local = local;
    this.flatPending = null;
  }

  emit(code: string): void {
    this.lines.push(code);
  }

  /** Instructions completed once instruction `j` of the current block (this one by default) is done. */
  doneAfter(j = this.local): string {
    return `k0 + ${j + 1}`;
  }

  // ---- registers

  /** Register `n` read at `size` bytes (8-bit: AL..BH numbering), zero-extended. */
  reg(n: number, size: number): string {
    if (size === 1) {
      const base = n & 3;
      this.usedRegs.add(base);
      return n < 4 ? `(e${base} & 255)` : `((e${base} >> 8) & 255)`;
    }
    this.usedRegs.add(n);
    return size === 4 ? `e${n}` : `(e${n} & 65535)`;
  }

  /** Statement writing `value` (any number; the low `size` bytes count) to register `n`. */
  setReg(n: number, size: number, value: string): string {
    const base = size === 1 ? n & 3 : n;
    this.usedRegs.add(base);
    this.writtenRegs.add(base);
    if (size === 4) {
      this.dwordRegs.add(base);
      return `e${base} = (${value}) | 0;`;
    }
    if (size === 2) return `e${base} = (e${base} & -65536) | ((${value}) & 65535);`;
    return n < 4 ? `e${base} = (e${base} & -256) | ((${value}) & 255);` : `e${base} = (e${base} & -65281) | (((${value}) & 255) << 8);`;
  }

  // ---- memory

  /**
   * The instruction's offset (base + index*scale + disp, wrapped to the address size) from the
   * locals; a 32-bit one as an int32 when `signed` (the same bits: TLB and RAM indexing use
   * only those).
   */
  offset(insn: Instruction, signed = false): string {
    const parts = [String(insn.disp | 0)];
    if (insn.addrSize === 2) {
      if (insn.base >= 0) parts.push(this.reg(insn.base, 2));
      if (insn.index >= 0) parts.push(this.reg(insn.index, 2));
      return `((${parts.join(' + ')}) & 65535)`;
    }
    if (insn.base >= 0) parts.push(this.reg(insn.base, 4));
    if (insn.index >= 0) parts.push(insn.scale === 0 ? this.reg(insn.index, 4) : `(${this.reg(insn.index, 4)} << ${insn.scale})`);
    return `((${parts.join(' + ')}) ${signed ? '| 0' : '>>> 0'})`;
  }

  /**
   * Statement setting $L to the linear address of the instruction's memory operand: the plain
   * segment fast path, else addressing.ts (which reads the base and index registers from the
   * register file: they are written back first).
   */
  linear(insn: Instruction, size: number): string {
    const s = insn.segment;
    const spills = [insn.base, insn.index].filter((n) => n >= 0).map((n) => `g32[${n}] = e${n}`); // addressing.ts reads them
    const general = `S.addressing.memoryLinear(cpu, I${this.j}, ${size})`;
    if (this.isFlat(s)) return this.flat(s, this.offset(insn, true), `${spills.map((a) => `${a}; `).join('')}$L = ${general};`);
    this.usedSegs.add(s);
    return `$L = (so${s} && ($ea = ${this.offset(insn)}) + ${size - 1} <= sl${s}) ? (sb${s} + $ea) >>> 0 : (${[`j = ${this.j}`, ...spills, general].join(', ')});`;
  }

  /** Statement setting $L to the linear address of `seg`:`offset` (an unsigned 32-bit offset). */
  segmentLinear(seg: number, offset: string, size: number): string {
    if (this.isFlat(seg)) return this.flat(seg, offset, `$L = S.addressing.segmentLinear(cpu, ${seg}, ${offset}, ${size});`);
    this.usedSegs.add(seg);
    return `$L = (so${seg} && (${offset}) + ${size - 1} <= sl${seg}) ? (sb${seg} + (${offset})) >>> 0 : (j = ${this.j}, S.addressing.segmentLinear(cpu, ${seg}, ${offset}, ${size}));`;
  }

  private isFlat(seg: number): boolean {
    return this.fastMemory && (this.flatAtTranslation & (1 << seg)) !== 0;
  }

  /**
   * The flat form of an address: $L is the offset itself, and the access's inline TLB hit also
   * tests `fl<seg>` (the segment is flat now). Through a flat segment, an access the hit lets
   * through (a byte, or an aligned word or dword) is within the limit, so neither the base nor
   * the limit needs reading; any other access, or a segment no longer flat, takes the slow
   * path, which computes the address the general way (`general`, faults included) first.
   */
  private flat(seg: number, offset: string, general: string): string {
    this.flatSegs.add(seg);
    this.flatPending = general;
    return `$L = ${offset};`;
  }

  /** Statement setting $L to the linear address of SS:`offset` (a 32-bit stack). */
  stackLinear(offset: string, size: number): string {
    this.usesStack = true;
    return this.segmentLinear(SS, offset, size);
  }

  /**
   * Statements reading `size` bytes at linear $L into the (declared) variable `into`. The slow
   * path (a TLB miss, MMIO, a page crossing, an unaligned word or dword) sets $S: only it can
   * reach a device or drop translated code, so only after it must the instruction look for
   * pending events.
   */
  read(size: number, into: string): string {
    this.touchedMemory = true;
    const slow = `{ j = ${this.j}; ${this.takeFlat()}cpu.retired = base + k0 + ${this.local}; ${into} = cpu.mem.read${size * 8}($L) | 0; $S = 1; }`;
    if (!this.fastMemory) return slow;
    const { hit, ram } = ramHit(size, this.masks.readMask, this.masks.readExpect);
    return `$T = TLB[$L >>> 12]; if (${hit}) ${into} = ${ram}; else ${slow}`;
  }

  /** Statements writing the low `size` bytes of `value` (an int32 variable) at linear $L. */
  write(size: number, value: string): string {
    this.touchedMemory = true;
    const slow = `{ j = ${this.j}; ${this.takeFlat()}cpu.retired = base + k0 + ${this.local}; cpu.mem.write${size * 8}($L, ${size === 4 ? `${value} >>> 0` : `${value} & ${size === 2 ? 65535 : 255}`}); $S = 1; }`;
    if (!this.fastMemory) return slow;
    const { hit, ram } = ramHit(size, this.masks.writeMask, this.masks.writeExpect);
    return `$T = TLB[$L >>> 12]; if (${hit}) ${ram} = ${value}; else ${slow}`;
  }

  /**
   * For the first access after a flat-form address: the general address computation that goes
   * first in its slow path. A later access of the same instruction (the write of a
   * read-modify-write) has $L settled either way.
   */
  private takeFlat(): string {
    const general = this.flatPending;
    this.flatPending = null;
    return general === null ? '' : `${general} `;
  }

  // ---- exits and calls

  /**
   * Statements leaving the block after `done` instructions with RIP = `rip` (null: as it is),
   * through the translation's one epilogue (exitTo).
   */
  exit(done: string, rip: number | null): string {
    return exitTo(done, rip === null ? 'r.rip' : String(rip));
  }

  /** Statements that hand the register file and flags to interpreter code (a handler call). */
  beforeCall(): string {
    const flags = materialize(this.flags);
    this.flags = MEMORY_FLAGS;
    return `${SPILL_MARK} ${flags}`;
  }

  /**
   * Statements taking the locals back from the register file after a handler call; if the call
   * gave SS a 16-bit stack, the block ends there, after `done` instructions, with RIP = `rip`
   * (null: RIP as the handler left it, for a handler that may branch).
   */
  afterCall(done: number, rip: number | null): string {
    return `@RELOAD(${done},${rip === null ? 'same' : rip | 0})@`;
  }

  /** The spill statements for the whole block (every register the direct code writes). */
  spillCode(withHigh: boolean): string {
    const out: string[] = [];
    for (const n of [...this.writtenRegs].sort()) {
      out.push(`g32[${n}] = e${n};`);
      if (withHigh && this.dwordRegs.has(n)) out.push(`ghi[${n}] = 0;`);
    }
    return out.join(' ');
  }

  /** Declarations at the block's entry. */
  entryCode(): string[] {
    const out: string[] = [];
    const regs = [...this.usedRegs].sort();
    if (regs.length > 0) out.push(`let ${regs.map((n) => `e${n} = g32[${n}]`).join(', ')};`);
    for (const s of [...this.usedSegs].sort()) {
      out.push(`let sb${s} = $sb[${s}], sl${s} = $sl[${s}] >>> 0, so${s} = ($sa[${s}] & ${WRITABLE_SIMPLE_MASK}) === ${WRITABLE_SIMPLE_VALUE};`);
    }
    // Outside what it was translated for, the block is interpreted instead (returns 0).
    for (const s of [...this.flatSegs].sort()) out.push(`if (!(${flatTest(s)})) return 0;`);
    if (this.fastMemory) out.push(`const MMU = cpu.mmu; if (!(${this.masksHold()})) return 0;`);
    if (this.usesStack) out.push(`if (($sa[${SS}] & ${Attr.Db}) === 0) return 0;`);
    return out;
  }

  /** JS expression: the MMU's masks are the ones the translation was made with. */
  private masksHold(): string {
    const m = this.masks;
    return `MMU.readMask === ${m.readMask} && MMU.readExpect === ${m.readExpect} && MMU.writeMask === ${m.writeMask} && MMU.writeExpect === ${m.writeExpect}`;
  }

  /** Statements reloading the locals after a handler call (see afterCall). */
  reloadCode(done: string, rip: string): string {
    const out: string[] = [];
    for (const n of [...this.usedRegs].sort()) out.push(`e${n} = g32[${n}];`);
    for (const s of [...this.usedSegs].sort()) {
      out.push(`sb${s} = $sb[${s}]; sl${s} = $sl[${s}] >>> 0; so${s} = ($sa[${s}] & ${WRITABLE_SIMPLE_MASK}) === ${WRITABLE_SIMPLE_VALUE};`);
    }
    // A handler that made a flat segment another, or changed the masks, ends the translation.
    const leave = exitTo(`k0 + ${done}`, rip === 'same' ? 'r.rip' : rip);
    for (const s of [...this.flatSegs].sort()) out.push(`if (!(${flatTest(s)})) ${leave}`);
    if (this.fastMemory) out.push(`if (!(${this.masksHold()})) ${leave}`);
    if (this.usesStack) out.push(`if (($sa[${SS}] & ${Attr.Db}) === 0) ${exitTo(`k0 + ${done}`, rip === 'same' ? 'r.rip' : rip)}`);
    return out.join(' ');
  }
}
