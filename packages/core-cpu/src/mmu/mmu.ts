/**
 * The MMU facade: what the interpreter and the JIT call when the inline TLB check misses.
 *
 * Fast path (inline in the interpreter, no call; the full recipe is in ./index.ts):
 *   const e = mmu.entries[lin >>> 12];
 *   if ((e & mmu.readMask) === mmu.readExpect) value = mmu.bytes[(e & ~0xfff) | (lin & 0xfff)];
 *   else value = mmu.read8(lin, priv);
 * In 4-level paging the slot's tag must match too: `mmu.tags[lin >>> 12] === linHi`.
 *
 * Slow path (here): look the page up, walk on a miss or when the cached rights do not allow
 * this access, raise #PF by throwing the preallocated `fault`, split accesses that cross a
 * page (both pages translated before a byte is written), send non-RAM to the MMIO bus, and
 * tell the JIT when a write lands on a page it translated code from.
 */
import type { AccessSize, GuestMemory, IoBus } from '@tsemu/devices/platform';
import { CpuFault, VECTOR_PF } from './cpu-fault.js';
import {
  AccessKind, CR0_PG_BIT, CR0_WP_BIT, CR4_PAE_BIT, CR4_PGE_BIT, CR4_PSE_BIT, CR4_SMAP_BIT, CR4_SMEP_BIT,
  EFER_LMA_BIT, EFER_NXE_BIT, Priv, WalkResult, walk, type PagingContext,
} from './paging-walk.js';
import { GuestMemoryPhysAccess, type PhysAccess } from './phys-access.js';
import {
  Tlb, TLB_HAS_CODE, TLB_NO_EXEC, TLB_NO_USER, TLB_NOT_RAM, TLB_READONLY, TLB_VALID,
} from './tlb.js';
import { WIDE_ZERO } from '@tsemu/devices/platform';

const TWO_32 = 4294967296;
const TWO_48 = 281474976710656;

/**
 * The data-access fast-path test of a TLB entry e: `(e & readMask) === readExpect` for a read,
 * likewise for a write.
 */
export interface AccessMasks {
  readMask: number;
  readExpect: number;
  writeMask: number;
  writeExpect: number;
}

/** The masks for a CPL 3 access (`user`), or a supervisor one that SMAP keeps off user pages (`smap`). */
export function dataAccessMasks(user: boolean, smap: boolean): AccessMasks {
  const readMask = TLB_VALID | TLB_NOT_RAM | (user || smap ? TLB_NO_USER : 0);
  const readExpect = TLB_VALID | (smap ? TLB_NO_USER : 0);
  return { readMask, readExpect, writeMask: readMask | TLB_READONLY | TLB_HAS_CODE, writeExpect: readExpect };
}

/** The four access masks in one word (each is a few TLB flag bits, below 2^8): Mmu.packedMasks. */
export function packedMasks(m: AccessMasks): number {
  return (m.readMask | (m.readExpect << 8) | (m.writeMask << 16) | (m.writeExpect << 24)) | 0;
}

/** A copy of the masks `m` holds now (an Mmu's change with privilege and SMAP). */
export function accessMasksOf(m: AccessMasks): AccessMasks {
  return { readMask: m.readMask, readExpect: m.readExpect, writeMask: m.writeMask, writeExpect: m.writeExpect };
}

/** Changing any of these changes what cached entries mean: full flush (SDM 4.10.4.1). */
const CR0_FLUSH_BITS = CR0_PG_BIT | CR0_WP_BIT;
const CR4_FLUSH_BITS = CR4_PSE_BIT | CR4_PAE_BIT | CR4_PGE_BIT | CR4_SMEP_BIT | CR4_SMAP_BIT;
const EFER_FLUSH_BITS = EFER_NXE_BIT | EFER_LMA_BIT;

export interface MmuCounters {
  walks: number;
  pageFaults: number;
  mmioReads: number;
  mmioWrites: number;
  codeWrites: number;
}

export class Mmu {
  readonly tlb: Tlb;
  /** The TLB arrays and RAM bytes, exposed for the interpreter's inline fast path. */
  readonly entries: Int32Array;
  readonly tags: Uint16Array;
  readonly bytes: Uint8Array;
  /**
   * The same RAM as dwords, for aligned 32-bit accesses on fast paths. GuestMemory's bytes start
   * at offset 0 of their buffer, so every dword-aligned RAM dword is one element.
   */
  readonly words: Int32Array;
  /** The same RAM as 16-bit words, for aligned 16-bit accesses on fast paths. */
  readonly halves: Uint16Array;
  /** The one fault object every #PF throws (refilled each time; copy it if you keep it). */
  readonly fault = new CpuFault(VECTOR_PF);
  readonly counters: MmuCounters = { walks: 0, pageFaults: 0, mmioReads: 0, mmioWrites: 0, codeWrites: 0 };
  /** Fast-path masks for the current CPL, EFLAGS.AC, CR4.SMEP/SMAP: `(e & mask) === expect`. */
  readMask = 0;
  readExpect = 0;
  writeMask = 0;
  writeExpect = 0;
  /**
   * The four as one word (packedMasks), kept with them: WebAssembly translations check it at
   * every entry, so it is made when they change, not at each call.
   */
  packedMasks = 0;
  fetchMask = 0;
  fetchExpect = 0;
  /** Guest-physical address of the byte the last slow-path translation resolved (up to 2^52: WIDE_ZERO). */
  lastPhys = WIDE_ZERO;
  /**
   * Called before a write lands on a RAM page marked with `tlb.markCode`, with the
   * guest-physical address and length of the written bytes. The JIT drops the code there and
   * calls `tlb.unmarkCode` once the page holds none.
   */
  onCodeWrite: ((phys: number, length: number) => void) | null = null;

  private readonly ctx: Required<Omit<PagingContext, 'maxPhyAddr'>> & { maxPhyAddr: number | undefined } = {
    cr0: 0, cr3: 0, cr3Hi: 0, cr4: 0, efer: 0, maxPhyAddr: undefined,
  };
  private cpl = 0;
  private ac = false;
  private long = false;
  private readonly result = new WalkResult();
  private readonly view: DataView;

  constructor(
    private readonly mem: GuestMemory,
    private readonly mmio: IoBus,
    private readonly phys: PhysAccess = new GuestMemoryPhysAccess(mem),
  ) {
    this.tlb = new Tlb(mem);
    this.entries = this.tlb.entries;
    this.tags = this.tlb.tags;
    this.bytes = mem.bytes;
    const b = mem.bytes;
    if (b.byteOffset % 4 !== 0) throw new Error('guest RAM must start dword-aligned in its buffer');
    this.words = new Int32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
    this.halves = new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
    this.view = new DataView(mem.bytes.buffer, mem.bytes.byteOffset, mem.bytes.byteLength);
    this.updateMasks();
  }

  /** The paging registers now in force (read-only view; change them with setPagingContext). */
  get context(): Readonly<PagingContext> {
    return this.ctx;
  }

  /** True in 4-level paging: fast paths must compare `tags`. */
  get longMode(): boolean {
    return this.long;
  }

  /**
   * Loads CR0/CR3/CR4/EFER (after MOV CRn, WRMSR EFER, a task switch or a snapshot restore).
   * Accepts the CPU's register object directly. Flushes everything when a bit that changes
   * the meaning of cached entries changed, non-global entries when only CR3 changed.
   */
  setPagingContext(next: PagingContext): void {
    const c = this.ctx;
    const all =
      ((c.cr0 ^ next.cr0) & CR0_FLUSH_BITS) !== 0 ||
      ((c.cr4 ^ next.cr4) & CR4_FLUSH_BITS) !== 0 ||
      ((c.efer ^ next.efer) & EFER_FLUSH_BITS) !== 0 ||
      c.maxPhyAddr !== next.maxPhyAddr;
    const cr3 = c.cr3 !== next.cr3 || c.cr3Hi !== next.cr3Hi;
    c.cr0 = next.cr0;
    c.cr3 = next.cr3;
    c.cr3Hi = next.cr3Hi;
    c.cr4 = next.cr4;
    c.efer = next.efer;
    c.maxPhyAddr = next.maxPhyAddr;
    this.long = (c.cr0 & CR0_PG_BIT) !== 0 && (c.efer & EFER_LMA_BIT) !== 0;
    if (all) this.tlb.flushAll();
    else if (cr3) this.tlb.flushNonGlobal();
    this.updateMasks();
  }

  /** MOV to CR3: always flushes non-global entries, even when the value is unchanged. */
  writeCr3(cr3: number, cr3Hi = 0): void {
    this.ctx.cr3 = cr3;
    this.ctx.cr3Hi = cr3Hi;
    this.tlb.flushNonGlobal();
  }

  /** CPL or EFLAGS.AC changed: recomputes the fast-path masks (no flush needed). */
  setPrivilege(cpl: number, ac: boolean): void {
    this.cpl = cpl;
    this.ac = ac;
    this.updateMasks();
  }

  /** INVLPG. */
  invlpg(linear: number): void {
    this.tlb.invalidatePage(this.normalize(linear));
  }

  /** Drops every cached translation (global ones too). */
  flushAll(): void {
    this.tlb.flushAll();
  }

  private updateMasks(): void {
    const user = this.cpl === 3;
    const smap = !user && (this.ctx.cr4 & CR4_SMAP_BIT) !== 0 && !this.ac;
    const smep = !user && (this.ctx.cr4 & CR4_SMEP_BIT) !== 0;
    const m = dataAccessMasks(user, smap);
    this.readMask = m.readMask;
    this.readExpect = m.readExpect;
    this.writeMask = m.writeMask;
    this.writeExpect = m.writeExpect;
    this.packedMasks = packedMasks(m);
    this.fetchMask = TLB_VALID | TLB_NOT_RAM | TLB_NO_EXEC | (user || smep ? TLB_NO_USER : 0);
    this.fetchExpect = TLB_VALID | (smep ? TLB_NO_USER : 0);
  }

  /** Legacy modes: bits 31:0. 4-level: bits 47:0, negative numbers taken as sign-extended. */
  private normalize(linear: number): number {
    if (!this.long) return linear >>> 0;
    return linear < 0 ? linear + TWO_48 : linear % TWO_48;
  }

  /**
   * Rights a cached entry must show for this access to reuse it, as mask | expect << 16
   * (NOT_RAM and HAS_CODE are handled by the caller, not by a re-walk).
   */
  private rights(kind: AccessKind, priv: Priv): number {
    const cr4 = this.ctx.cr4;
    if (priv === Priv.USER) {
      const m = TLB_VALID | TLB_NO_USER | (kind === AccessKind.WRITE ? TLB_READONLY : kind === AccessKind.FETCH ? TLB_NO_EXEC : 0);
      return m | (TLB_VALID << 16);
    }
    if (kind === AccessKind.FETCH) {
      const smep = (cr4 & CR4_SMEP_BIT) !== 0;
      return TLB_VALID | TLB_NO_EXEC | (smep ? TLB_NO_USER : 0) | ((TLB_VALID | (smep ? TLB_NO_USER : 0)) << 16);
    }
    const smap = (cr4 & CR4_SMAP_BIT) !== 0 && (priv === Priv.IMPLICIT || !this.ac);
    const m = TLB_VALID | (kind === AccessKind.WRITE ? TLB_READONLY : 0) | (smap ? TLB_NO_USER : 0);
    return m | ((TLB_VALID | (smap ? TLB_NO_USER : 0)) << 16);
  }

  /**
   * Translates one access to the page holding `linear`. Returns the byte's offset in `bytes`,
   * or -1 when it is not directly addressable RAM (then `lastPhys` is its guest-physical
   * address). Throws `fault` (#PF) when the access is not allowed. For writes, `length` bytes
   * (all in this page) are about to be written: the code hook hears of them (0: not yet).
   */
  translate(linear: number, kind: AccessKind, priv: Priv, length = 1): number {
    const lin = this.normalize(linear);
    const tlb = this.tlb;
    const i = lin >>> 12;
    let e = tlb.lookup(lin);
    const r = this.rights(kind, priv);
    if (e !== 0 && (e & r & 0xffff) === r >>> 16) {
      this.lastPhys = tlb.frames[i] * 4096 + (lin & 0xfff);
    } else {
      this.counters.walks++;
      const w = this.result;
      if (!walk(this.phys, this.ctx, lin, kind, priv, this.ac, w)) {
        this.counters.pageFaults++;
        throw this.fault.setPageFault(lin, w.errorCode);
      }
      e = tlb.fill(lin, w);
      this.lastPhys = w.phys;
    }
    if (kind === AccessKind.WRITE && length > 0 && this.onCodeWrite !== null) {
      if ((e & TLB_HAS_CODE) !== 0 || ((e & TLB_NOT_RAM) !== 0 && tlb.hasCode(this.lastPhys))) {
        this.codeWritten(this.lastPhys, length);
      }
    }
    return (e & TLB_NOT_RAM) !== 0 ? -1 : (e & ~0xfff) | (lin & 0xfff);
  }

  translateRead(linear: number, priv: Priv): number {
    return this.translate(linear, AccessKind.READ, priv);
  }

  translateWrite(linear: number, priv: Priv, length = 1): number {
    return this.translate(linear, AccessKind.WRITE, priv, length);
  }

  translateFetch(linear: number, priv: Priv): number {
    return this.translate(linear, AccessKind.FETCH, priv);
  }

  read8(linear: number, priv: Priv): number {
    const off = this.translate(linear, AccessKind.READ, priv);
    return off >= 0 ? this.bytes[off] : this.physRead(this.lastPhys, 1);
  }

  read16(linear: number, priv: Priv): number {
    if ((linear & 0xfff) > 0xffe) return this.readSplit(linear, 2, priv, AccessKind.READ);
    const off = this.translate(linear, AccessKind.READ, priv);
    return off >= 0 ? this.view.getUint16(off, true) : this.physRead(this.lastPhys, 2);
  }

  /** Unsigned 32-bit value. */
  read32(linear: number, priv: Priv): number {
    if ((linear & 0xfff) > 0xffc) return this.readSplit(linear, 4, priv, AccessKind.READ);
    const off = this.translate(linear, AccessKind.READ, priv);
    return off >= 0 ? this.view.getUint32(off, true) : this.physRead(this.lastPhys, 4);
  }

  /** One instruction byte, with fetch rights (NX, SMEP). */
  fetch8(linear: number, priv: Priv): number {
    const off = this.translate(linear, AccessKind.FETCH, priv);
    return off >= 0 ? this.bytes[off] : this.physRead(this.lastPhys, 1);
  }

  write8(linear: number, value: number, priv: Priv): void {
    const off = this.translate(linear, AccessKind.WRITE, priv, 1);
    if (off >= 0) this.bytes[off] = value;
    else this.physWrite(this.lastPhys, 1, value & 0xff);
  }

  write16(linear: number, value: number, priv: Priv): void {
    if ((linear & 0xfff) > 0xffe) return this.writeSplit(linear, 2, value, priv);
    const off = this.translate(linear, AccessKind.WRITE, priv, 2);
    if (off >= 0) this.view.setUint16(off, value, true);
    else this.physWrite(this.lastPhys, 2, value & 0xffff);
  }

  write32(linear: number, value: number, priv: Priv): void {
    if ((linear & 0xfff) > 0xffc) return this.writeSplit(linear, 4, value, priv);
    const off = this.translate(linear, AccessKind.WRITE, priv, 4);
    if (off >= 0) this.view.setUint32(off, value >>> 0, true);
    else this.physWrite(this.lastPhys, 4, value >>> 0);
  }

  /** Guest-physical read: RAM if it is RAM (wherever in the backing), else the MMIO bus. */
  physRead(phys: number, size: AccessSize): number {
    const off = this.mem.offsetOf(phys, size);
    if (off >= 0) {
      return size === 1 ? this.bytes[off] : size === 2 ? this.view.getUint16(off, true) : this.view.getUint32(off, true);
    }
    this.counters.mmioReads++;
    return this.mmio.read(phys, size);
  }

  physWrite(phys: number, size: AccessSize, value: number): void {
    const off = this.mem.offsetOf(phys, size);
    if (off < 0) {
      this.counters.mmioWrites++;
      this.mmio.write(phys, size, value);
    } else if (size === 1) this.bytes[off] = value;
    else if (size === 2) this.view.setUint16(off, value, true);
    else this.view.setUint32(off, value >>> 0, true);
  }

  /** The linear address `n` bytes on, wrapping as the mode's address space does. */
  private advance(linear: number, n: number): number {
    return this.long ? (this.normalize(linear) + n) % TWO_48 : (linear + n) >>> 0;
  }

  private readSplit(linear: number, size: number, priv: Priv, kind: AccessKind): number {
    const first = 0x1000 - (linear & 0xfff);
    const offA = this.translate(linear, kind, priv);
    const physA = this.lastPhys;
    const offB = this.translate(this.advance(linear, first), kind, priv);
    const physB = this.lastPhys;
    let value = 0;
    for (let j = 0; j < size; j++) {
      const b = j < first
        ? offA >= 0 ? this.bytes[offA + j] : this.physRead(physA + j, 1)
        : offB >= 0 ? this.bytes[offB + j - first] : this.physRead(physB + j - first, 1);
      value |= b << (8 * j);
    }
    return value >>> 0;
  }

  /**
   * Tells the code-write hook that `length` bytes at guest-physical `phys` (one page) are about
   * to be written: what the slow path does before a write to a code page, done once for a whole
   * REP STOS/MOVS run (interp/handlers/string-runs.ts).
   */
  codeWritten(phys: number, length: number): void {
    this.counters.codeWrites++;
    this.onCodeWrite?.(phys, length);
  }

  /**
   * Both pages are translated (and may fault) before the first byte is stored or the code
   * hook hears of the write.
   */
  private writeSplit(linear: number, size: number, value: number, priv: Priv): void {
    const first = 0x1000 - (linear & 0xfff);
    const offA = this.translate(linear, AccessKind.WRITE, priv, 0);
    const physA = this.lastPhys;
    const offB = this.translate(this.advance(linear, first), AccessKind.WRITE, priv, 0);
    const physB = this.lastPhys;
    if (this.onCodeWrite !== null) {
      if (this.tlb.hasCode(physA)) this.codeWritten(physA, first);
      if (this.tlb.hasCode(physB)) this.codeWritten(physB, size - first);
    }
    for (let j = 0; j < size; j++) {
      const b = (value >>> (8 * j)) & 0xff;
      if (j < first) {
        if (offA >= 0) this.bytes[offA + j] = b;
        else this.physWrite(physA + j, 1, b);
      } else if (offB >= 0) this.bytes[offB + j - first] = b;
      else this.physWrite(physB + j - first, 1, b);
    }
  }
}
