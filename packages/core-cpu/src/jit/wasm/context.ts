/**
 * The guest state of a WebAssembly translation, as translation-context.ts keeps it for the
 * JavaScript one: EAX..EDI in locals e0..e7 (passed in by the host wrapper, runtime.ts), flags
 * in locals (flag-state.ts's record, kinds and all), memory through the software TLB's entries
 * and guest RAM, both in the RAM backing's WebAssembly memory.
 *
 * Only the flat form is written: every segment an access goes through must have been flat
 * (base 0, limit 4 GiB, plain writable data) at translation, so an offset is its linear
 * address; the wrapper checks they still are on entry, as the JavaScript translation does.
 * Anything else, and anything register-forms.ts would hand to a handler, is not translated
 * here (`Unsupported`): the block gets a JavaScript translation instead.
 *
 * A slow path (TLB miss, MMIO, unaligned, a write to a code page) calls the host (runtime.ts)
 * with the instruction's index and count. A guest fault there does not unwind through the
 * WebAssembly: the host keeps the exception and flags it, and the translation leaves through
 * its one fault exit, which stores the locals (the state before the faulting instruction: no
 * form writes anything before its last access that may fault); the wrapper then rethrows.
 * One exit instead of the stores at every access keeps translations small.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { keyParts } from '../key-parts.js';
import type { AccessMasks } from '../../mmu/mmu.js';
import { MEMORY_FLAGS, type StaticFlags } from '../flag-state.js';
import { Code, L, LIKELY, UNLIKELY } from './code.js';
import { Op, sleb, uleb } from './encoder.js';
import { IMPORT } from './imports.js';
import { PAUSE_CYCLES } from '../../interp/handlers/stall-cycles.js';

/**
 * Thrown when the WebAssembly backend does not write an instruction (the translation ends
 * before it, or the block gets a JavaScript translation). Not an Error: it is caught inside the
 * compiler every time, and an Error's stack trace would cost every such compile.
 */
export class Unsupported {
  constructor(readonly reason: string) {}
}

/** The status area's int32 slots (runtime.ts reads and writes them). */
export const STATUS = {
  /**
   * 8-14: fk, fo, fz, fa, fb, fr, fc, the flag record not yet in LazyFlags (fk = 0: none): a
   * translation starts from it and leaves its own there (0-7 unused: the registers are in the
   * register file).
   */
  flags: 8,
  rip: 15,
  /** The instruction a slow path is for (index in the translation), and its count (the host stores that). */
  j: 16,
  k: 17,
  /** Set by a slow path when work is pending (cpu.pendingEvents). */
  events: 18,
  /** Set by a slow path that faulted (the host keeps the exception; the translation leaves through its fault exit). */
  fault: 19,
  /** The epoch the jump cache's entries must carry (runtime.ts). */
  epoch: 20,
  /** The MMU's access masks now (Mmu.packedMasks), set by the host: a translation's prologue compares them with its own. */
  masks: 21,
  /** Set by the dispatcher: the running translation's table slot, and the count retired before it in this call. */
  slot: 22,
  chainBase: 23,
  /** Translations the dispatcher went on to through the jump cache in this call. */
  chained: 24,
  /** EFLAGS.DF, set by the host (no translation changes it): string instructions step by it. */
  df: 25,
  /**
   * The case a translation starts at, set by whoever calls it (the wrapper, the dispatcher): 0
   * for its entry block, a member's case for an entry at that member (region.ts's entries).
   */
  entry: 26,
  /** RDTSC's high half and RDTSCP's IA32_TSC_AUX, left by the host's time-stamp call. */
  tscHi: 27,
  tscAux: 28,
  /**
   * Set by a translation that left before instruction `j` for the host to run it (a memory
   * access its fast path does not take: context.ts's slowExit); the wrapper runs it and clears this.
   */
  slowExit: 29,
  /**
   * 30-31: the guest TSC at count 0 of this call (an i64, 8-byte aligned), valid while tscOk
   * is set: RDTSC at count n (STATUS.chainBase plus the translation's own) reads tscBase +
   * (n << tscShift) without a host call. The host sets them at its time-stamp reads when the
   * TSC source is tied to the CPU's cycles (MsrFile.tscCycleShift), PAUSE moves the base on by
   * its stall; bit 0 of tscOk allows RDTSC, bit 1 RDTSCP too. Cleared at every entry and by
   * every other host call that gets the count (runtime.ts's cpuAt: a device may move the clock).
   */
  tscBase: 30,
  tscOk: 32,
  tscShift: 33,
  /**
   * PAUSE's stall cycles in this call not yet on the CPU's count (cpu.stall): the host adds
   * them before anything of its own reads the clock (runtime.ts's settleStall). And the cycles
   * left in the burst at entry (cpu.stallStop less the CPU's cycles, at most 2^30): a PAUSE
   * whose stall reaches them sets STATUS.events, and the translation leaves after it.
   */
  stallPending: 34,
  stallRoom: 35,
  /** Slots in all. */
  size: 36,
} as const;


const SS = 2;

/**
 * Same-page memos: a straight run of accesses off one register (a frame's locals off EBP,
 * pushes and pops off ESP, a structure's fields) mostly stays in one page, so the first
 * access's TLB lookup serves the others. A memo holds an access's page offset and RAM address
 * in locals (L.memoOffset0 ...); a later access at displacement `delta` from it, the register
 * unchanged or moved by a known amount (PUSH, POP), takes RAM address + delta when offset +
 * delta keeps it in the page: one compare instead of the TLB entry's load and tests. Writes
 * (and read-modify-writes) test a second offset, the page offset again when the page took the
 * write test at the memo's access (made by a write, or a read whose TLB entry also passes the
 * write test), MEMO_NONE otherwise.
 *
 * Memos are made only at an instruction's top level (not in an arm that may not run), and
 * forgotten where what they rest on may change: at a case label (control flow joins), when
 * their register is written other than by a known amount, at a host call that is not a slow
 * path (an instruction run by its handler may reload CR3 or INVLPG). A slow path leaves the
 * translation (slowExit), so nothing after it uses a memo. With slowCalls it goes on after its
 * host call: the slow path of the access that makes a memo then sets its offsets to MEMO_NONE
 * at run time (it has no RAM address to give), which fails the test from then on, and the
 * other memos outlive it. What a memo rests on is the page's mapping and the write test its
 * TLB entry passed, and a slow path changes neither: a fill or eviction leaves mappings as
 * they are until the guest invalidates them (an instruction, not a slow path), a write that
 * drops code leaves the translation after the instruction, and a page holding code never
 * passed the write test (decoding, which marks a page, happens outside translations).
 * Resetting every memo in every slow path had made each access's join a merge of four more
 * values: 16% of the WebAssembly written and 12% of TurboFan's compile time (the
 * decompressor's translations, with the look for pending events below made unconditional).
 */
const MEMO_NONE = 0x40000000;
/** Displacements this far from a memo's are not tried against it (MEMO_NONE + delta must stay out of a page). */
const MEMO_REACH = 0x1000;
/** Per memo: its offset for reads, its offset for writes, its RAM address. */
const MEMO_LOCALS: readonly (readonly [number, number, number])[] = [
  [L.memoOffset0, L.memoWriteOffset0, L.memoAddress0],
  [L.memoOffset1, L.memoWriteOffset1, L.memoAddress1],
];

/**
 * Instructions that write their r/m operand when it comes first in the form (Ev, Eb, Ew): all
 * but these, which only read it. A guess serves: it decides only whether a memo is worth making
 * (the run-time tests keep every access correct).
 */
const READS_FIRST_OPERAND = new Set(['cmp', 'test', 'bt', 'push', 'jmp', 'call', 'mul', 'imul', 'div', 'idiv', 'lgdt', 'lidt', 'lldt', 'ltr', 'lmsw', 'verr', 'verw', 'invlpg']);
/** Instructions that write below ESP, and that read at ESP. */
const STACK_WRITES = new Set(['push', 'call', 'pushf', 'pusha', 'enter']);
const STACK_READS = new Set(['pop', 'ret', 'popf', 'popa', 'leave', 'iret']);

/** A read, a write, or the read of a read-modify-write (which takes the write's test; writeBack writes). */
type AccessKind = 'read' | 'write' | 'update';

interface Memo {
  seg: number;
  /** The register the addresses are based on; -1 for constant addresses. */
  reg: number;
  /** The memo's access's displacement from the register's value now. */
  bias: number;
  /** When it was made or last used (the older memo is replaced). */
  used: number;
}

/** The linear-address local's value as segment + register + displacement, when it is that. */
interface AddressKey {
  seg: number;
  reg: number;
  disp: number;
}

export class WasmContext {
  readonly code = new Code();
  /** Index of the instruction in the translation, and in its block since the last case label. */
  j = 0;
  local = 0;
  /** The current instruction's address (its RIP, a linear address: the CS base is checked at entry). */
  ip = 0;
  flags: StaticFlags = MEMORY_FLAGS;
  /** Bit n: segment n is addressed (the prologue checks it is still flat at its base at translation, segBases[n]: region.ts). */
  usedSegs = 0;
  usesStack = false;
  /** A TLB entry is tested against the access masks (the prologue checks they are still `masks`). */
  usesMasks = false;
  /** Bit n: register n is written as a whole dword (its high half is cleared at the exit, as the JS backend does). */
  dwordRegs = 0;
  /**
   * The instruction being written may leave work that must be taken right after it (region.ts
   * checks at once): a write (its slow path may have dropped code, the next instruction's
   * perhaps), PAUSE (its cycles may use up the burst's time).
   */
  checkWorkAfter = false;
  /**
   * Labels between the current case's code and the dispatch loop (the cases after it); the
   * exit block is one further out.
   */
  outerCases = 0;
  private memos: (Memo | null)[] = [null, null];
  private memoClock = 0;
  /** What the linear-address local holds (set with it), or null when it is not register + displacement. */
  private address: AddressKey | null = null;
  /** code.depth at the current instruction's top level: memos are made only there. */
  private instructionDepth = 0;
  /** The register adjustRegister is writing (its memos move instead of going). */
  private adjusting = -1;
  /**
   * The instructions after the current one up to the next case label (its block's, from
   * `laterFrom`): a memo is made only when one of them may use it.
   */
  private later: readonly Instruction[] = [];
  private laterFrom = 0;
  private laterEnd = 0;
  /** Writing a slow path: its host call forgets no memo (the call's MEMO_NONE stores do at run time). */
  private inSlowPath = false;

  constructor(
    /** Bit n: segment n was plain writable data with a 4 GiB limit at translation (wideSegments), at base `segBases[n]`. */
    readonly wideSegs: number,
    readonly segBases: ArrayLike<number>,
    readonly stack32: boolean,
    /** Byte offsets in the WebAssembly memory of the TLB's entries and of the status area. */
    readonly tlbOffset: number,
    readonly statusOffset: number,
    /** Byte offset of the register file (EAX..EDI as dwords) in the WebAssembly memory. */
    readonly gprOffset: number,
    /**
     * The MMU's access masks at translation, written into the code as constants (the prologue
     * leaves when they no longer hold): as locals they were four values live across the whole
     * function, which TurboFan's register allocator kept in registers or spilled.
     */
    readonly masks: AccessMasks,
    /**
     * Slow paths call the host and go on (set for a block whose translation left through its
     * slow exits too often, CodeBlock.slowCalls); otherwise they leave the translation
     * (slowExit).
     */
    readonly slowCalls = false,
  ) {
    this.code.onRegisterWrite = (reg) => this.registerWritten(reg);
    this.code.onLinearWrite = () => (this.address = null);
    this.code.onHostCall = () => {
      if (!this.inSlowPath) this.forgetMemos();
    };
  }

  /** What `restore` needs to take back a partly written instruction. */
  save(): { length: number; depth: number; flags: StaticFlags; segs: number; stack: boolean; masks: boolean; dwords: number; memos: (Memo | null)[]; address: AddressKey | null } {
    return {
      length: this.code.length, depth: this.code.depth, flags: this.flags, segs: this.usedSegs, stack: this.usesStack, masks: this.usesMasks, dwords: this.dwordRegs,
      memos: this.memos.map((m) => (m === null ? null : { ...m })), address: this.address,
    };
  }

  restore(s: ReturnType<WasmContext['save']>): void {
    this.code.truncate(s.length);
    this.code.depth = s.depth;
    this.flags = s.flags;
    this.usedSegs = s.segs;
    this.usesStack = s.stack;
    this.usesMasks = s.masks;
    this.dwordRegs = s.dwords;
    this.memos = s.memos;
    this.address = s.address;
  }

  /**
   * `block[from, end)`: the instructions after this one up to the next case label (a memo made
   * now can serve only them).
   */
  startInstruction(j: number, local: number, ip: number, block: readonly Instruction[] = [], from = 0, end = 0): void {
    this.j = j;
    this.local = local;
    this.ip = ip;
    this.later = block;
    this.laterFrom = from;
    this.laterEnd = end;
    this.instructionDepth = this.code.depth;
    this.address = null;
  }

  // ---- same-page memos (MEMO_NONE's comment)

  /** At a case label: control flow joins there from places whose memos differ. */
  forgetMemos(): void {
    this.memos = [null, null];
  }

  private registerWritten(reg: number): void {
    if (reg === this.adjusting) return;
    for (let i = 0; i < this.memos.length; i++) if (this.memos[i]?.reg === reg) this.memos[i] = null;
    if (this.address?.reg === reg) this.address = null;
  }

  /** Writes register `reg` (a dword) as its value + `delta` (pushed by `push`): its memos stay, moved. */
  adjustRegister(reg: number, delta: number, push: () => void): void {
    this.adjusting = reg;
    try {
      this.setReg(reg, 4, push);
    } finally {
      this.adjusting = -1;
    }
    for (const m of this.memos) if (m !== null && m.reg === reg) m.bias -= delta;
    if (this.address !== null && this.address.reg === reg) this.address = { ...this.address, disp: this.address.disp - delta };
  }

  /**
   * Whether an instruction after this one (up to the next case label) may access memory off
   * `key`'s register and segment: 'write' when one may write there, 'read' when only reads,
   * null when none does. A guess from the forms (READS_FIRST_OPERAND); writes to the register
   * in between are not looked at.
   */
  private laterUse(key: AddressKey): 'read' | 'write' | null {
    let use: 'read' | 'write' | null = null;
    for (let i = this.laterFrom; i < this.laterEnd; i++) {
      const insn = this.later[i];
      const { name, form } = keyParts(insn.entry);
      if (insn.isMem && insn.index < 0 && insn.base === key.reg && insn.segment === key.seg && insn.addrSize === 4) {
        if (form.startsWith('E') && !READS_FIRST_OPERAND.has(name)) return 'write';
        use = 'read';
      } else if (key.reg === 4 && key.seg === SS) {
        if (STACK_WRITES.has(name)) return 'write';
        if (STACK_READS.has(name)) use = 'read';
      }
    }
    return use;
  }

  /** The memo an access at `key` may use, or -1. */
  private memoFor(key: AddressKey): number {
    return this.memos.findIndex((m) => m !== null && m.seg === key.seg && m.reg === key.reg);
  }

  /** The memo slot an access at `key` makes its memo in: the one of its register, a free one, or the older. */
  private memoSlotFor(key: AddressKey): number {
    const same = this.memoFor(key);
    if (same >= 0) return same;
    const free = this.memos.indexOf(null);
    if (free >= 0) return free;
    return this.memos[0]!.used <= this.memos[1]!.used ? 0 : 1;
  }

  /** Branch depth of the dispatch loop, of the exit block and of the fault block from the current point. */
  get loopDepth(): number {
    return this.outerCases + this.code.depth;
  }

  get exitDepth(): number {
    return this.loopDepth + 1;
  }

  get faultDepth(): number {
    return this.loopDepth + 2;
  }

  // ---- registers

  /** Pushes register `n` at `size` bytes (8-bit: AL..BH numbering), zero-extended. */
  reg(n: number, size: number): void {
    const c = this.code;
    if (size === 1) {
      c.get(L.e0 + (n & 3));
      if (n >= 4) c.i32(8).op(Op.i32ShrU);
      c.i32(255).op(Op.i32And);
      return;
    }
    c.get(L.e0 + n);
    if (size === 2) c.i32(65535).op(Op.i32And);
  }

  /** Writes the value `push` leaves on the stack to register `n` (its low `size` bytes). */
  setReg(n: number, size: number, push: () => void): void {
    const c = this.code;
    const base = size === 1 ? n & 3 : n;
    const e = L.e0 + base;
    if (size === 4) {
      this.dwordRegs |= 1 << base;
      push();
      c.set(e);
      return;
    }
    if (size === 2) {
      c.get(e).i32(-65536).op(Op.i32And);
      push();
      c.i32(65535).op(Op.i32And, Op.i32Or).set(e);
      return;
    }
    if (n < 4) {
      c.get(e).i32(-256).op(Op.i32And);
      push();
      c.i32(255).op(Op.i32And, Op.i32Or).set(e);
      return;
    }
    c.get(e).i32(-65281).op(Op.i32And);
    push();
    c.i32(255).op(Op.i32And).i32(8).op(Op.i32Shl, Op.i32Or).set(e);
  }

  // ---- memory

  /** Pushes the instruction's 32-bit offset (base + index*scale + disp). */
  offset(insn: Instruction): void {
    if (insn.addrSize !== 4 || insn.detail.ripRelative) throw new Unsupported('addressing');
    const c = this.code;
    c.i32(insn.disp | 0);
    if (insn.base >= 0) c.get(L.e0 + insn.base).op(Op.i32Add);
    if (insn.index >= 0) {
      c.get(L.e0 + insn.index);
      if (insn.scale !== 0) c.i32(insn.scale).op(Op.i32Shl);
      c.op(Op.i32Add);
    }
  }

  /**
   * The base of segment `seg`, which must be a 4 GiB data segment: its offsets then never
   * fault on the limit, and linear = offset + base (mod 2^32). Linux's per-CPU segment (FS)
   * is one with a base; most others are flat.
   */
  private segment(seg: number): number {
    if ((this.wideSegs & (1 << seg)) === 0) throw new Unsupported(`segment ${seg} not a 4 GiB data segment`);
    const base = this.segBases[seg] | 0;
    this.usedSegs |= 1 << seg;
    return base;
  }

  /** Adds `base` to the offset on the stack (nothing when it is 0). */
  private addBase(base: number): void {
    if (base !== 0) this.code.i32(base).op(Op.i32Add);
  }

  /** Sets the linear-address local to the instruction's memory operand. */
  linear(insn: Instruction): number {
    const base = this.segment(insn.segment);
    this.offset(insn);
    this.addBase(base);
    this.code.set(L.lin);
    if (insn.index < 0) this.address = { seg: insn.segment, reg: insn.base, disp: insn.disp | 0 };
    return insn.segment;
  }

  /** Sets the linear-address local to `seg`:`offset` (a constant offset). */
  absolute(seg: number, offset: number): number {
    const base = this.segment(seg);
    this.code.setConst(L.lin, (offset + base) | 0);
    this.address = { seg, reg: -1, disp: offset | 0 };
    return seg;
  }

  /** Sets the linear-address local to `seg`:`push` (an offset the caller pushes). */
  linearAt(seg: number, push: () => void): number {
    const base = this.segment(seg);
    push();
    this.addBase(base);
    this.code.set(L.lin);
    return seg;
  }

  /**
   * Sets the linear-address local to SS:`push` (a 32-bit stack); `espDisp`: what `push` pushes
   * is ESP + espDisp (so the access may use ESP's memo).
   */
  stackLinear(push: () => void, espDisp?: number): number {
    if (!this.stack32) throw new Unsupported('16-bit stack');
    const base = this.segment(SS);
    this.usesStack = true;
    push();
    this.addBase(base);
    this.code.set(L.lin);
    if (espDisp !== undefined) this.address = { seg: SS, reg: 4, disp: espDisp };
    return SS;
  }

  /** Pushes the instructions completed before the current one, and the instruction's index. */
  private countAndIndex(): void {
    this.code.get(L.k0).i32(this.local).op(Op.i32Add).i32(this.j);
  }

  /** Pushes the instructions retired before this one in the whole call (the dispatcher's chainBase on). */
  private callCount(): void {
    this.code.i32(0).mem(Op.i32Load, 2, this.status(STATUS.chainBase)).get(L.k0).op(Op.i32Add).i32(this.local).op(Op.i32Add);
  }

  /** The address of a status-area slot (STATUS). */
  private status(slot: number): number {
    return this.statusOffset + 4 * slot;
  }

  /**
   * After a slow path's call: if it faulted, leave through the fault exit (the locals still
   * hold the state before this instruction, which that exit stores). Work it left pending is in
   * the status area's events word, which the branches between members look at.
   */
  private afterSlowPath(): void {
    const c = this.code;
    c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.fault));
    c.op(Op.brIf);
    uleb(this.faultDepth, c);
  }

  /** The TLB entry of the linear-address local into its local; the RAM address left on the stack by `ramAddress`. */
  private loadEntry(): void {
    this.code.get(L.lin).i32(12).op(Op.i32ShrU).i32(2).op(Op.i32Shl).mem(Op.i32Load, 2, this.tlbOffset).set(L.tlb);
  }

  /**
   * Branches out of the enclosing block unless the TLB entry local allows the access (`mask`
   * and `expect` are the translation's constants), all of it in the page. Unaligned accesses within the page take the
   * fast path too (WebAssembly loads and stores at any address): on the Linux boot they were
   * 1.09 of the 1.10 million slow-path calls when only aligned ones did. Two branches, which
   * TurboFan makes a compare and a jump each: an `and` of the two comparisons cost it two
   * setcc, two zero-extensions and a test besides (perf's annotation of the boot's hottest loop).
   */
  private branchOnMiss(size: number, mask: number, expect: number): void {
    const c = this.code;
    this.usesMasks = true;
    c.get(L.tlb).i32(mask).op(Op.i32And).i32(expect).op(Op.i32Ne).brIf(0, UNLIKELY);
    if (size > 1) c.get(L.lin).i32(0xfff).op(Op.i32And).i32(0x1000 - size).op(Op.i32GtU).brIf(0, UNLIKELY);
  }

  /**
   * An access: through a memo when one serves it (MEMO_NONE's comment), else through the TLB,
   * `fast` given a function that pushes the RAM address and returns the load's or store's
   * offset, `slow` the host's path.
   */
  private access(size: number, kind: AccessKind, fast: (address: () => number) => void, slow: () => void): void {
    const c = this.code;
    const key = this.address;
    const memo = key === null ? -1 : this.memoFor(key);
    const delta = memo < 0 ? 0 : key!.disp - this.memos[memo]!.bias;
    if (memo >= 0 && delta > -MEMO_REACH && delta < MEMO_REACH) {
      this.memos[memo]!.used = ++this.memoClock;
      const [offset, writeOffset, address] = MEMO_LOCALS[memo];
      c.block(() => {
        c.block(() => {
          c.get(kind === 'read' ? offset : writeOffset);
          if (delta !== 0) c.i32(delta).op(Op.i32Add);
          c.i32(0x1000 - size).op(Op.i32GtU).brIf(0, UNLIKELY);
          fast(() => {
            c.get(address);
            if (delta >= 0) return delta;
            c.i32(delta).op(Op.i32Add);
            return 0;
          });
          c.br(1);
        });
        this.tlbAccess(size, kind, fast, slow, -1);
      });
      return;
    }
    const use = key !== null && c.depth === this.instructionDepth ? this.laterUse(key) : null;
    const slot = use === null ? -1 : this.memoSlotFor(key!);
    this.tlbAccess(size, kind, fast, slow, slot, use === 'write');
    if (slot >= 0) this.memos[slot] = { seg: key!.seg, reg: key!.reg, bias: key!.disp, used: ++this.memoClock };
  }

  /** The access through the TLB, the fast path straight-line code; it makes memo `slot` (unless -1). */
  private tlbAccess(size: number, kind: AccessKind, fast: (address: () => number) => void, slow: () => void, slot: number, writesLater = false): void {
    const c = this.code;
    const m = this.masks;
    const [mask, expect] = kind === 'read' ? [m.readMask, m.readExpect] : [m.writeMask, m.writeExpect];
    this.loadEntry();
    c.block(() => {
      c.block(() => {
        this.branchOnMiss(size, mask, expect);
        if (slot < 0) {
          fast(() => {
            this.ramAddress();
            return 0;
          });
        } else {
          const [offset, writeOffset, address] = MEMO_LOCALS[slot];
          this.ramAddress();
          c.set(address);
          fast(() => {
            c.get(address);
            return 0;
          });
          c.get(L.lin).i32(0xfff).op(Op.i32And).tee(offset);
          if (kind === 'read' && writesLater) {
            // Writable too? Then the writes after it may use the memo as well.
            c.i32(MEMO_NONE);
            c.get(L.tlb).i32(m.writeMask).op(Op.i32And).i32(m.writeExpect).op(Op.i32Eq);
            c.op(Op.select);
          } else if (kind === 'read') {
            c.op(Op.drop).i32(MEMO_NONE);
          }
          c.set(writeOffset);
        }
        c.br(1);
      });
      slow();
      // A slow path that went on (slowCalls) has no RAM address for the memo this access makes.
      if (slot >= 0 && this.slowCalls) {
        const [offset, writeOffset] = MEMO_LOCALS[slot];
        c.setConst(offset, MEMO_NONE).setConst(writeOffset, MEMO_NONE);
      }
    });
  }

  private ramAddress(): void {
    this.code.get(L.tlb).i32(-4096).op(Op.i32And).get(L.lin).i32(4095).op(Op.i32And, Op.i32Or);
  }

  /** Reads `size` bytes at the linear-address local (segment `seg`) into local `into`, zero-extended. */
  read(size: number, into: number, seg: number): void {
    this.access(size, 'read', (address) => this.fastRead(size, into, address), () => this.slowRead(size, into, seg));
  }

  /**
   * Reads `size` bytes at the linear-address local into local `into` for a read-modify-write:
   * one TLB lookup (or memo), tested for the write (which allows the read); the fast path
   * leaves the RAM address in the TLB-entry local for `writeBack`. A page the write may not
   * take the fast path for (read-only, D clear, code) takes the slow path: a slow exit (the
   * host runs the whole instruction), or with slowCalls a read through the host and 0 in L.h
   * (1 on the fast path), so that the write goes through the host too: the fault order stays
   * the read's, then the write's.
   */
  readForUpdate(size: number, into: number, seg: number): void {
    const c = this.code;
    this.access(
      size,
      'update',
      (address) => {
        const offset = address();
        if (offset !== 0) c.i32(offset).op(Op.i32Add);
        c.tee(L.tlb);
        this.fastRead(size, into, () => 0);
        if (this.slowCalls) c.setConst(L.h, 1);
      },
      () => {
        this.slowRead(size, into, seg);
        if (this.slowCalls) c.setConst(L.h, 0);
      },
    );
  }

  /** The write of a read-modify-write (after readForUpdate, at the same address). */
  writeBack(size: number, value: number, seg: number): void {
    const c = this.code;
    // Only the fast path's read comes on here when slow paths leave.
    if (!this.slowCalls) return this.fastWrite(size, value, () => (c.get(L.tlb), 0));
    this.checkWorkAfter = true;
    c.get(L.h);
    c.if(
      () => this.fastWrite(size, value, () => (c.get(L.tlb), 0)),
      () => this.slowWrite(size, value, seg),
      LIKELY,
    );
  }

  /** `address` pushes the RAM address and returns the load's offset from it. */
  private fastRead(size: number, into: number, address: () => number): void {
    const c = this.code;
    const offset = address();
    if (size === 1) c.mem(Op.i32Load8U, 0, offset);
    else if (size === 2) c.mem(Op.i32Load16U, 1, offset);
    else c.mem(Op.i32Load, 2, offset);
    c.set(into);
  }

  private slowRead(size: number, into: number, seg: number): void {
    if (!this.slowCalls) return this.slowExit();
    const c = this.code;
    c.get(L.lin).i32(seg);
    this.countAndIndex();
    this.inSlowPath = true;
    c.call(size === 1 ? IMPORT.read1 : size === 2 ? IMPORT.read2 : IMPORT.read4).set(into);
    this.inSlowPath = false;
    this.afterSlowPath();
  }

  /**
   * A memory access the fast path does not take (a TLB miss, a page crossing, MMIO, a page
   * holding code, a fault to raise): the translation leaves before the instruction, in the
   * state before it (what its fault exit stores too), and the host runs the instruction through
   * the interpreter's handler (runtime.ts's runSlowExit) before it goes on. No call in the
   * function's code, so TurboFan keeps no value in a stack slot for one: a host call clobbers
   * every register, and with ~100 of them a function (one per access) its register allocator
   * stored nearly every value at its definition, on the fast path. The boot's 9,000 slow
   * accesses (TLB misses mostly) cost an exit each instead of a call.
   */
  private slowExit(): void {
    const c = this.code;
    c.i32(0).i32(this.j).mem(Op.i32Store, 2, this.status(STATUS.j));
    c.i32(0).i32(1).mem(Op.i32Store, 2, this.status(STATUS.slowExit));
    // The dispatcher goes no further: the instruction is the host's to run first.
    c.i32(0).i32(1).mem(Op.i32Store, 2, this.status(STATUS.events));
    this.exit(() => c.get(L.k0).i32(this.local).op(Op.i32Add), () => c.i32(this.ip));
  }

  private fastWrite(size: number, value: number, address: () => number): void {
    const c = this.code;
    const offset = address();
    c.get(value);
    if (size === 1) c.mem(Op.i32Store8, 0, offset);
    else if (size === 2) c.mem(Op.i32Store16, 1, offset);
    else c.mem(Op.i32Store, 2, offset);
  }

  private slowWrite(size: number, value: number, seg: number): void {
    if (!this.slowCalls) return this.slowExit();
    const c = this.code;
    c.get(L.lin).get(value).i32(seg);
    this.countAndIndex();
    this.inSlowPath = true;
    c.call(size === 1 ? IMPORT.write1 : size === 2 ? IMPORT.write2 : IMPORT.write4);
    this.inSlowPath = false;
    this.afterSlowPath();
  }

  /** Writes the low `size` bytes of local `value` at the linear-address local (segment `seg`). */
  write(size: number, value: number, seg: number): void {
    // A write through the host may leave work (dropped code, a device's interrupt); one on the
    // fast path or a slow exit leaves none.
    if (this.slowCalls) this.checkWorkAfter = true;
    this.access(size, 'write', (address) => this.fastWrite(size, value, address), () => this.slowWrite(size, value, seg));
  }

  // ---- the time-stamp counter

  /**
   * RDTSC (RDTSCP: `withAux`) through the host, which is given the count retired before this
   * instruction (the TSC counts retired instructions): EAX from the call, EDX (and RDTSCP's
   * ECX) from the status area. A fault (#GP under CR4.TSD above CPL 0, #UD for RDTSCP on a model
   * without it) leaves through the fault exit before any register is written.
   */
  timeStamp(withAux: boolean): void {
    const c = this.code;
    // Without a host call while the host's last read in this call holds (STATUS.tscBase): a
    // delay loop's RDTSC after the first, PAUSE keeping the base up to date.
    c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.tscOk)).i32(withAux ? 2 : 1).op(Op.i32And);
    c.if(() => {
      c.i32(0).mem(Op.i64Load, 3, this.status(STATUS.tscBase));
      this.callCount();
      c.op(Op.i64ExtendI32U);
      c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.tscShift)).op(Op.i64ExtendI32U).op(Op.i64Shl, Op.i64Add).set(L.p);
      c.get(L.p).op(Op.i32WrapI64).set(L.v);
      c.i32(0).get(L.p).op(Op.i64Const);
      sleb(32, c);
      c.op(Op.i64ShrU, Op.i32WrapI64).mem(Op.i32Store, 2, this.status(STATUS.tscHi));
    }, () => {
      c.i32(withAux ? 1 : 0);
      this.countAndIndex();
      c.call(IMPORT.timeStamp).set(L.v);
      this.afterSlowPath();
    }, LIKELY);
    this.setReg(0, 4, () => c.get(L.v));
    this.setReg(2, 4, () => c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.tscHi)));
    if (withAux) this.setReg(1, 4, () => c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.tscAux)));
  }

  /**
   * PAUSE: its extra cycles (stall-cycles.ts) go on the status area's pending count, and on a
   * TSC base in use; when they use up the burst's time the translation leaves right after it,
   * where the interpreter's burst ends. A kernel's delay loop (RDTSC, PAUSE, compare) then runs
   * without the host: a call per PAUSE was about 3.7 million calls on the Linux boot.
   */
  pause(): void {
    const c = this.code;
    this.checkWorkAfter = true;
    c.i32(0).i32(0).mem(Op.i32Load, 2, this.status(STATUS.stallPending)).i32(PAUSE_CYCLES - 1).op(Op.i32Add).tee(L.v).mem(Op.i32Store, 2, this.status(STATUS.stallPending));
    c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.tscOk)).if(() => {
      c.i32(0).i32(0).mem(Op.i64Load, 3, this.status(STATUS.tscBase)).op(Op.i64Const);
      sleb(PAUSE_CYCLES - 1, c);
      c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.tscShift)).op(Op.i64ExtendI32U).op(Op.i64Shl, Op.i64Add).mem(Op.i64Store, 3, this.status(STATUS.tscBase));
    });
    // The CPU's cycles before this instruction, from the entry's: chainBase + count + stall.
    this.callCount();
    c.get(L.v).op(Op.i32Add);
    c.i32(0).mem(Op.i32Load, 2, this.status(STATUS.stallRoom)).op(Op.i32GeS);
    c.if(() => c.i32(0).i32(1).mem(Op.i32Store, 2, this.status(STATUS.events)), undefined, UNLIKELY);
  }

  /** Raises #DE through the host (DIV's zero divisor or quotient overflow): leaves through the fault exit. */
  divideError(): void {
    this.countAndIndex();
    this.code.call(IMPORT.divideError);
    this.afterSlowPath();
  }

  // ---- the interpreter's handler

  /**
   * The current instruction through its interpreter handler (handler-calls.ts says which may):
   * the flags to LazyFlags and the registers to the register file first, the registers read
   * back after. A fault leaves through the fault exit with the registers as the handler left
   * them (the state before the instruction, or a REP run's progress). When the handler moved
   * RIP elsewhere or left work pending, the translation leaves after the instruction, at that
   * RIP.
   */
  handlerCall(next: number): void {
    const c = this.code;
    this.materialize();
    c.storeRegisters(this.gprOffset);
    c.i32(next);
    this.countAndIndex();
    c.call(IMPORT.handler).set(L.x);
    // The registers are read back before the fault test: a REP string instruction that faults
    // part-way keeps the iterations it completed (ESI, EDI, ECX moved on), as it does
    // interpreted, and the fault exit stores what the locals hold.
    c.loadRegisters(this.gprOffset);
    this.afterSlowPath();
    c.get(L.x).i32(next).op(Op.i32Ne).i32(0).mem(Op.i32Load, 2, this.status(STATUS.events)).op(Op.i32Or);
    c.if(() => this.exitAfter(null), undefined, UNLIKELY);
  }

  // ---- flags

  /** Hands the flag locals to LazyFlags (when they hold a record); the flags are then there. */
  materialize(): void {
    if (this.flags.kind === 'memory') return;
    const c = this.code;
    c.flagKind().flagOp().flagBits();
    for (const l of [L.fa, L.fb, L.fr, L.fc]) c.get(l);
    c.call(IMPORT.materialize).setConst(L.fk, 0);
    this.flags = MEMORY_FLAGS;
  }

  // ---- exits

  /** Leaves after `done` more instructions than k0 (pushed by `count`), with RIP = `rip`. */
  exit(count: () => void, rip: (() => void) | null): void {
    const c = this.code;
    count();
    c.set(L.n);
    if (rip !== null) {
      rip();
      c.set(L.x);
    }
    c.br(this.exitDepth);
  }

  /** Leaves after instruction `local` of the current case (and those before it), RIP = `rip` (null: the x local). */
  exitAfter(rip: number | null, local = this.local): void {
    this.exit(() => this.code.get(L.k0).i32(local + 1).op(Op.i32Add), rip === null ? null : () => this.code.i32(rip));
  }
}
