/**
 * The decoded-block cache: decoding is the interpreter's largest cost after dispatch, and
 * loops run the same bytes over and over. The run loop executes *blocks*: runs of decoded
 * instructions, each with the handler picked for it (loop-handlers.ts), from a start address
 * up to an instruction that transfers control unconditionally, may change the mode, or is the
 * last whole one in the page. Conditional branches do not end a block: the loop leaves it when
 * RIP after an instruction is not the next one's address (a branch taken, a REP resumed), so a
 * block is a superblock with side exits. Per instruction the loop then pays no fetch, no TLB
 * lookup and no cache probe, only the handler call and the checks between instructions.
 *
 * Keys: a block is keyed by its first byte's offset in the guest RAM backing
 * (GuestMemory.bytes) plus the decoding mode. The run loop gets that offset from the TLB entry
 * of the fetch (bits 31:12 of a RAM entry are the page's backing offset, mmu/tlb.ts), so a
 * lookup is integer arithmetic and two field compares; and since the key is where the bytes
 * are, paging changes (CR0/CR3/CR4, INVLPG) need no flush. The table has two ways per slot
 * (slot = low key bits; see `spare`). A block never crosses a page, nor, in 16-bit code, the wrap of IP
 * from 0xFFFF to 0: its bytes are one contiguous range of one page.
 *
 * Validity: pages blocks were decoded from are marked in the MMU (`tlb.markCode`), which sends
 * every write to them down the MMU slow path and to `mmu.onCodeWrite`; that hook drops the
 * blocks whose bytes the write overlaps (QEMU's and v86's code-page tracking work the same
 * way) and reports it (`onDrop`), so the run loop leaves a block whose own bytes an instruction
 * just rewrote. The hook speaks guest-physical addresses: `notePage` records, per cached page,
 * which backing page it is. Writes that bypass the MMU (GuestMemory.bytes, device DMA) are not
 * seen: whoever does those must call `flush()` (SoftCpu.flushDecodeCache).
 *
 * Memory bound: at most MAX_CACHED_INSTRUCTIONS decoded instructions are kept; past that the
 * whole cache is dropped and refilled from what runs next (QEMU flushes its code buffer the
 * same way when it is full).
 */
import { CpuMode, Instruction, newInstruction } from '../decoder/instruction.js';
import { decode, MAX_INSTRUCTION_LENGTH, type ByteSource } from '../decoder/decoder.js';
import { DecodeStatus } from '../decoder/instruction.js';
import type { Handler } from './handlers/types.js';
import type { CompiledBlock } from '../jit/block-compiler.js';
import { endsBlock, loopHandler } from './loop-handlers.js';
import { hotIndex } from './hot-dispatch.js';

/**
 * Slots (a power of two): block starts 256 KiB apart in the backing collide, and the later one
 * evicts the other. 64 Ki slots rebuilt ~900,000 blocks on a Linux boot; a kernel's hot code
 * spans megabytes.
 */
export const DECODE_CACHE_SLOTS = 1 << 18;
const SLOT_MASK = DECODE_CACHE_SLOTS - 1;
/** Instructions per block at most: bounds the work redone when a block is dropped. */
export const MAX_BLOCK_INSTRUCTIONS = 64;
/** Decoded instructions kept at most (about 230 bytes each with their block slot) before the cache starts over. */
export const MAX_CACHED_INSTRUCTIONS = 1 << 20;

export interface DecodeCacheCounters {
  /** Blocks decoded (hits are not counted: that would cost on every block). */
  misses: number;
  /** Instructions decoded into blocks. */
  decoded: number;
  /** Blocks dropped because guest code wrote over their bytes. */
  invalidations: number;
  flushes: number;
}

const NO_INSTRUCTIONS: Instruction[] = [];

/** A run of decoded instructions in one page, executed by SoftCpu's run loop. */
export class CodeBlock {
  /** Backing offset of the first byte; -1 once dropped (lookups then miss). */
  key: number;
  /** Backing offset one past the last byte in the block's page. */
  end: number;
  /**
   * A block whose one instruction runs into the next page: that page's backing offset (its TLB
   * entry's bits 31:12, which the run loop checks before every use), else -1.
   */
  crossKey = -1;
  /** Backing offset one past the instruction's last byte in the next page (crossKey's range). */
  crossEnd = -1;
  /**
   * The decoded instructions, each with its handler and block-runner case (Instruction.handler,
   * hotCase). Set once, when the block is built, to an array of exactly their number: one grown
   * by push holds 17 slots or more, and the runner's next load is the array.
   */
  insns: Instruction[] = NO_INSTRUCTIONS;
  /** Interpreted runs so far: the JIT's hotness count. */
  runs = 0;
  /** Translations of the block dropped on entry, made for a CPU state that no longer held. */
  staleDrops = 0;
  /**
   * Its WebAssembly translation left through slow exits too often (jit/wasm/runtime.ts's
   * SLOW_EXIT_LIMIT): the next one calls the host from its slow paths instead.
   */
  slowCalls = false;
  /** The block's translation (jit/block-compiler.ts), once it is hot; dropped with the block. */
  compiled: CompiledBlock | null = null;
  /** Blocks whose translation includes this one (jit/region.ts): dropped with it as well. */
  regionOwners: CodeBlock[] | null = null;
  /**
   * The last two blocks the block runner went on to from this one (itself when none): the
   * runner tries them before the cache's slot array (hot-dispatch.ts). A link is used only
   * while its block is still cached under the key the lookup would use (dropped and evicted
   * blocks have key -1), so it finds what the slot lookup would, one cache miss sooner.
   */
  succ0: CodeBlock = this;
  succ1: CodeBlock = this;

  constructor(key: number, readonly mode: CpuMode) {
    this.key = key;
    this.end = key;
  }

  get count(): number {
    return this.insns.length;
  }
}

/** The interpreter's handler of an instruction of a cached block (set when the block was decoded). */
export function handlerOf(insn: Instruction): Handler {
  return insn.handler as Handler;
}

/** The placeholder in empty slots: its key matches no offset. */
const EMPTY = new CodeBlock(-1, CpuMode.Bits16);

/**
 * The decoder's byte source while building a block: bytes straight from the RAM backing,
 * within one page (and, in 16-bit code, below IP 0x10000). A byte outside that range sets
 * `overran` instead of being read, so the instruction is left for the slow path, which fetches
 * through the MMU with its faults and side effects (accessed bits of the next page). The one
 * exception is a block's first instruction when the caller knows the next page's backing
 * (`next`, from a TLB entry that allows the fetch): its bytes there are read and `crossed` set.
 */
class PageBytes implements ByteSource {
  bytes: Uint8Array = new Uint8Array(0);
  /** Backing offset of IP `ip0`. */
  base = 0;
  ip0 = 0;
  /** Backing offset one past the page. */
  limit = 0;
  /** IP past which 16-bit code would wrap (0x10000), or Infinity. */
  ipLimit = Infinity;
  /** Backing offset of the next page while the first instruction decodes, else -1. */
  next = -1;
  overran = false;
  crossed = false;

  fetch8(ip: number): number {
    const at = this.base + (ip - this.ip0);
    if (at >= this.limit || ip >= this.ipLimit) {
      if (this.next >= 0 && ip < this.ipLimit) {
        this.crossed = true;
        return this.bytes[this.next + (at - this.limit)];
      }
      this.overran = true;
      return 0x90;
    }
    return this.bytes[at];
  }
}

export class DecodeCache {
  /** The block starting at each slot's key (EMPTY when none): the run loop looks here. */
  readonly blocks: CodeBlock[] = [];
  /**
   * The block a slot's current one displaced (a second way): a miss in `blocks` finds it here
   * and swaps it back (recall). Direct-mapped alone, two hot blocks a multiple of 256 KiB apart in
   * the backing evicted each other over and over, and each time the block lost its translation
   * and its run count: 58 translated blocks were evicted so on a Linux boot, the kernel's RSA
   * loop (mpihelp_submul_1) twice, each time interpreted for another 20,000 runs and translated
   * again.
   */
  private readonly spare: CodeBlock[] = [];
  /** Blocks by backing page (offset / 4096), for invalidation. */
  private readonly byPage = new Map<number, CodeBlock[]>();
  /** Backing page (offset / 4096) of each guest-physical page (phys / 4096) code was cached from. */
  private readonly pageOffsets = new Map<number, number>();
  private cachedInstructions = 0;
  /**
   * Decoded instructions by backing page, then offset in the page: blocks that overlap (one
   * starting at a branch target inside another, which runs on past its conditional branches)
   * share one Instruction per guest instruction instead of a copy each. Measured on the Linux
   * boot's xz decompressor: 24,583 decoded instructions for 3,053 addresses, about 6 MB of
   * objects that the interpreter's loads missed in the host's caches. Entries go when a write
   * overlaps them (invalidate) and with flush.
   */
  private readonly shared = new Map<number, Map<number, Instruction>>();
  private sharedCount = 0;
  /** Dropped blocks still listed in byPage (removed in a sweep once they outnumber the live ones). */
  private deadListed = 0;
  private readonly source = new PageBytes();
  /** The block being built, copied into an array of its own size when it is complete. */
  private readonly building: Instruction[] = [];
  readonly counters: DecodeCacheCounters = { misses: 0, decoded: 0, invalidations: 0, flushes: 0 };
  /** Called when a write dropped at least one block (the run loop may be inside it). */
  onDrop: (() => void) | null = null;

  constructor() {
    // Filled by push, not new Array(n).fill: V8 then keeps the array packed.
    for (let i = 0; i < DECODE_CACHE_SLOTS; i++) {
      this.blocks.push(EMPTY);
      this.spare.push(EMPTY);
    }
  }

  /** The cached block starting at backing offset `key` decoded in `mode`, or null. */
  lookup(key: number, mode: CpuMode): CodeBlock | null {
    const slot = key & SLOT_MASK;
    const b = this.blocks[slot];
    if (b.key === key && b.mode === mode) return b;
    const s = this.spare[slot];
    return s.key === key && s.mode === mode ? s : null;
  }

  /**
   * The block at `key` in `mode` from the second way, moved back into `blocks` (the two swap),
   * or null. The run loop tries this before decoding again.
   */
  recall(key: number, mode: CpuMode): CodeBlock | null {
    const slot = key & SLOT_MASK;
    const b = this.spare[slot];
    if (b.key !== key || b.mode !== mode) return null;
    this.spare[slot] = this.blocks[slot];
    this.blocks[slot] = b;
    return b;
  }

  /**
   * Decodes a block at backing offset `key` (IP `ip`, 16-bit code wrapping at 64 KiB when
   * `wrap16`) from `bytes`, the RAM backing, and caches it. Returns null when not even the
   * first instruction lies whole in the page or decodes (the caller runs it the slow way,
   * which raises its fault). `physPage` is the guest-physical page, for the code-write hook.
   * When the block starts in the last bytes of its page, `nextKey` (the next page's backing
   * offset, or -1) and `nextPhysPage` let its first instruction cross into that page: the block
   * is then that instruction alone (hot loops do run across page ends).
   */
  build(
    bytes: Uint8Array, key: number, ip: number, mode: CpuMode, wrap16: boolean, physPage: number,
    nextKey = -1, nextPhysPage = -1,
  ): CodeBlock | null {
    this.counters.misses++;
    const src = this.source;
    src.bytes = bytes;
    src.base = key;
    src.ip0 = ip;
    src.limit = (key | 0xfff) + 1;
    src.ipLimit = wrap16 ? 0x10000 : Infinity;
    src.next = nextKey;
    src.crossed = false;
    const block = new CodeBlock(key, mode);
    const insns = this.building;
    insns.length = 0;
    let at = key;
    let next = ip;
    // The page's end ends the block: the next page's bytes are wherever its TLB entry says, and
    // the shared instructions at the start of the next RAM page are another page's.
    for (let n = 0; n < MAX_BLOCK_INSTRUCTIONS && at < src.limit; n++) {
      let insn = this.sharedAt(at, mode);
      if (insn !== null) {
        // Decoded from the same bytes for another block; it must also fit below a 16-bit wrap here.
        if (next + insn.length > src.ipLimit) break;
      } else {
        insn = newInstruction();
        src.overran = false;
        const status = decode(src, next, mode, insn);
        src.next = -1;
        if (status !== DecodeStatus.Ok || src.overran) break;
        const handler = loopHandler(insn);
        insn.handler = handler;
        insn.hotCase = hotIndex(handler);
        // An instruction that runs into the next page stays the block's own.
        if (!src.crossed) this.share(at, insn);
      }
      insns.push(insn);
      at += insn.length;
      next += insn.length;
      if (src.crossed) {
        block.crossKey = nextKey;
        block.crossEnd = nextKey + (at - src.limit);
        at = src.limit;
        break;
      }
      if (endsBlock(insn)) break;
    }
    if (insns.length === 0) return null;
    block.insns = insns.slice();
    block.end = at;
    this.counters.decoded += block.insns.length;
    if (this.cachedInstructions + block.insns.length > MAX_CACHED_INSTRUCTIONS) this.flush();
    this.cachedInstructions += block.insns.length;
    const slot = key & SLOT_MASK;
    const displaced = this.blocks[slot];
    if (displaced !== EMPTY) {
      // The slot's block moves to the second way, whose block goes. One with the same key (a
      // crossing block whose next page changed, or the other mode) is replaced outright.
      if (displaced.key === key) this.evict(displaced);
      else {
        const old = this.spare[slot];
        this.spare[slot] = displaced;
        if (old !== EMPTY) this.evict(old);
      }
    }
    this.blocks[slot] = block;
    this.list(block, key >>> 12, physPage);
    if (block.crossKey !== -1) this.list(block, block.crossKey >>> 12, nextPhysPage);
    return block;
  }

  /** The shared instruction decoded in `mode` at backing offset `at`, or null. */
  private sharedAt(at: number, mode: CpuMode): Instruction | null {
    const insn = this.shared.get(at >>> 12)?.get(at & 0xfff);
    return insn !== undefined && insn.mode === mode ? insn : null;
  }

  private share(at: number, insn: Instruction): void {
    if (this.sharedCount >= MAX_CACHED_INSTRUCTIONS) this.forgetShared();
    let page = this.shared.get(at >>> 12);
    if (page === undefined) {
      page = new Map();
      this.shared.set(at >>> 12, page);
    }
    if (!page.has(at & 0xfff)) this.sharedCount++;
    page.set(at & 0xfff, insn);
  }

  private forgetShared(): void {
    this.shared.clear();
    this.sharedCount = 0;
  }

  /** Forgets the shared instructions whose bytes overlap backing offsets [key, end), end in key's page. */
  private unshare(key: number, end: number): void {
    const page = this.shared.get(key >>> 12);
    if (page === undefined) return;
    const first = key & 0xfff;
    const last = end - (key & ~0xfff);
    for (let at = Math.max(0, first - (MAX_INSTRUCTION_LENGTH - 1)); at < last; at++) {
      const insn = page.get(at);
      if (insn !== undefined && at + insn.length > first) {
        page.delete(at);
        this.sharedCount--;
      }
    }
    if (page.size === 0) this.shared.delete(key >>> 12);
  }

  /** Lists `block` under backing page `keyPage`, which holds guest-physical page `physPage`. */
  private list(block: CodeBlock, keyPage: number, physPage: number): void {
    let list = this.byPage.get(keyPage);
    if (list === undefined) {
      list = [];
      this.byPage.set(keyPage, list);
    }
    list.push(block);
    if (this.pageOffsets.get(physPage) !== keyPage) this.pageOffsets.set(physPage, keyPage);
  }

  /**
   * The MMU's code-write hook: guest code wrote `length` bytes at guest-physical `phys`.
   * Pages never noted hold no cached code.
   */
  invalidatePhys(phys: number, length: number): void {
    while (length > 0) {
      const physPage = Math.floor(phys / 4096);
      const inPage = phys - physPage * 4096;
      const part = Math.min(length, 4096 - inPage);
      const keyPage = this.pageOffsets.get(physPage);
      if (keyPage !== undefined) this.invalidate(keyPage * 4096 + inPage, part);
      phys += part;
      length -= part;
    }
  }

  /** Guest code wrote `length` bytes at backing offset `key`: drops every block they overlap. */
  invalidate(key: number, length: number): void {
    const end = key + length;
    let dropped = 0;
    for (let page = key >>> 12; page <= (end - 1) >>> 12; page++) {
      if (this.shared.size !== 0) this.unshare(Math.max(key, page * 4096), Math.min(end, page * 4096 + 4096));
      const list = this.byPage.get(page);
      if (list === undefined) continue;
      let kept = 0;
      for (let k = 0; k < list.length; k++) {
        const b = list[k];
        if (b.key === -1) {
          this.deadListed--; // evicted earlier: just unlisted now
        } else if ((b.key < end && b.end > key) || (b.crossKey !== -1 && b.crossKey < end && b.crossEnd > key)) {
          this.drop(b);
          dropped++;
          // A page-crossing block stays listed under its other page, dead.
          if (b.crossKey !== -1) this.deadListed++;
        } else list[kept++] = b;
      }
      list.length = kept;
      if (kept === 0) this.byPage.delete(page);
    }
    if (dropped > 0) {
      this.counters.invalidations += dropped;
      this.onDrop?.();
    }
  }

  /** Unlists every dropped block. */
  private sweep(): void {
    for (const [page, list] of this.byPage) {
      let kept = 0;
      for (let k = 0; k < list.length; k++) if (list[k].key !== -1) list[kept++] = list[k];
      list.length = kept;
      if (kept === 0) this.byPage.delete(page);
    }
    this.deadListed = 0;
  }

  /** Drops a block pushed out of its slot (it stays listed by page until a sweep). */
  private evict(b: CodeBlock): void {
    this.drop(b);
    this.deadListed += b.crossKey === -1 ? 1 : 2;
    if (this.deadListed > 4096 && this.deadListed > this.cachedInstructions >>> 2) this.sweep();
  }

  private drop(b: CodeBlock): void {
    if (b.key === -1) return;
    const slot = b.key & SLOT_MASK;
    if (this.blocks[slot] === b) this.blocks[slot] = EMPTY;
    else if (this.spare[slot] === b) this.spare[slot] = EMPTY;
    this.cachedInstructions -= b.insns.length;
    b.key = -1;
    // A dropped block keeps nothing alive through its links (live blocks may still link to it).
    b.succ0 = b;
    b.succ1 = b;
    b.compiled?.onDrop?.();
    b.compiled = null;
    if (b.regionOwners !== null) {
      for (const owner of b.regionOwners) {
        owner.compiled?.onDrop?.();
        owner.compiled = null;
      }
      b.regionOwners = null;
    }
  }

  /** Drops every block. */
  flush(): void {
    for (const list of this.byPage.values()) for (const b of list) this.drop(b);
    this.byPage.clear();
    this.forgetShared();
    this.cachedInstructions = 0;
    this.deadListed = 0;
    this.counters.flushes++;
    this.onDrop?.();
  }

  /** Decoded instructions held now (bounded by MAX_CACHED_INSTRUCTIONS). */
  get size(): number {
    return this.cachedInstructions;
  }
}
