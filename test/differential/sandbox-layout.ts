/**
 * The memory image of the CPL3 long-mode sandbox: one guest-RAM slot holding 4-level page
 * tables, a GDT with a 64-bit TSS, an IDT for the 32 exception vectors, one-instruction CPL0
 * stubs, kernel stacks, and the user code, data and stack pages. Pure: it only writes bytes.
 *
 * Why this shape (see kvm-user-sandbox.ts for the run protocol):
 * - The code under test runs at CPL3 in 64-bit mode, the only mode this host's KVM (PVM)
 *   runs natively. Nothing at CPL0 runs on the normal path.
 * - A run ends with a store to an unbacked guest-physical page (KVM_EXIT_MMIO): DONE_VA is
 *   user-writable and maps GPA DONE_GPA outside the slot. A fault goes through the IDT to a
 *   CPL0 stub `mov [abs EXC_VA + vector], al`, a store to another unbacked page that only
 *   the supervisor may write (so user code cannot fake an exception).
 * - Every user region is surrounded by non-present pages, so a run that falls off its code
 *   or strays out of its data faults instead of wandering through other memory.
 * - Accessed and dirty bits are preset in every entry and every descriptor, so the CPU never
 *   needs to write page tables or the GDT and the image stays identical between runs.
 *
 * Formats: Intel SDM Vol. 3A 4.5 (4-level paging), 3.4.5 and 7.2.3 (GDT descriptors, 64-bit
 * TSS descriptor), 8.7 (64-bit TSS), 6.14.1 (64-bit IDT gate), 6.14.2-6.14.5 (stack frame,
 * IST); Vol. 2A MOV (opcode A2, moffs64).
 */

export const PAGE_SIZE = 0x1000;

// ---- guest-physical layout (one memory slot at GPA 0) -----------------------------------
/** Size of the RAM slot; every structure below lies inside it. */
export const RAM_SIZE = 0x10_0000;
/** Page-table pages are taken from here on (PML4 first). */
export const PT_POOL_GPA = 0x1000;
export const PT_POOL_PAGES = 16;
export const GDT_GPA = 0x11000; // GDT, then the TSS in the same page
export const TSS_GPA = GDT_GPA + 0x100; // after the GDT's GDT_ENTRIES * 8 bytes
export const IDT_GPA = 0x12000;
export const STUBS_GPA = 0x13000;
export const KSTACK_GPA = 0x14000; // two pages: RSP0 stack
export const IST1_STACK_GPA = 0x17000; // one page, after a guard page
export const PROLOGUE_GPA = 0x18000;
export const CODE_GPA = 0x20000;
export const DATA_GPA = 0x30000;
export const USER_STACK_GPA = 0x40000;
/** Unbacked guest-physical pages: stores there exit to user space as KVM_EXIT_MMIO. */
export const DONE_GPA = 0x1000_0000;
export const EXC_GPA = 0x1000_1000;

// ---- virtual layout ---------------------------------------------------------------------
// Kernel structures are identity mapped, supervisor only.
export const GDT_VA = GDT_GPA;
export const TSS_VA = TSS_GPA;
export const IDT_VA = IDT_GPA;
export const STUBS_VA = STUBS_GPA;
export const RSP0_TOP = KSTACK_GPA + 2 * PAGE_SIZE;
export const IST1_TOP = IST1_STACK_GPA + PAGE_SIZE;

/**
 * Every run enters here, at CPL3: a prologue reloads DS ES FS GS with the null selector and
 * jumps to CODE_BASE, touching no GPR and no flag. Why: PVM keeps the data selectors user
 * code loaded in the host thread's registers and ignores KVM_SET_SREGS for them, so a run
 * that did `mov ds, ax` would otherwise leak its DS into the next run (even into a new VM).
 */
export const PROLOGUE_VA = 0x3f_0000n;
/** Where the code under test starts; CODE_PAGES pages, read-only and executable at CPL3. */
export const CODE_BASE = 0x40_0000n;
export const CODE_PAGES = 4;
/** The user-writable data area (not executable). */
export const DATA_BASE = 0x60_0000n;
export const DATA_SIZE = 0x1_0000;
/** Initial RSP suggestion: the top of USER_STACK_PAGES user-writable pages. */
export const STACK_TOP = 0x80_0000n;
export const USER_STACK_PAGES = 4;
export const USER_STACK_SIZE = USER_STACK_PAGES * PAGE_SIZE;
export const USER_STACK_BASE = STACK_TOP - BigInt(USER_STACK_SIZE);
/** The completion page (user-writable, unbacked) and the exception page (supervisor only). */
export const DONE_VA = 0xa0_0000n;
export const EXC_VA = 0xa0_1000n;


// ---- selectors: Linux x86-64's GDT layout (arch/x86/include/asm/segment.h) ---------------
// PVM runs CPL3 guest code on the host's own user segments, so there MOV r, Sreg reads
// 0x33 / 0x2b / 0 whatever the guest's GDT says; with Linux's numbers a real CPU reads the
// same. Slots 1 (KERNEL32_CS) and 4 (USER32_CS) stay null: no compatibility-mode code here.
export const KERNEL_CS = 0x10;
export const KERNEL_DS = 0x18;
export const USER_DS = 0x28 | 3;
export const USER_CS = 0x30 | 3;
export const TSS_SELECTOR = 0x40;
export const GDT_ENTRIES = 10; // the TSS descriptor takes slots 8 and 9
export const GDT_LIMIT = GDT_ENTRIES * 8 - 1;
/** Only the 32 exception vectors exist; `int n` for n >= 32 is #GP (IDT limit). */
export const IDT_VECTORS = 32;
export const IDT_LIMIT = IDT_VECTORS * 16 - 1;
/** Bytes per stub slot: each stub is one 9-byte store, then UD2 as a backstop. */
export const STUB_STRIDE = 16;

/** Vectors that push an error code (SDM Vol. 3A Table 6-1): #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX. */
export const ERROR_CODE_VECTORS: ReadonlySet<number> = new Set([8, 10, 11, 12, 13, 14, 17, 21, 29, 30]);
/** Vectors whose gate a CPL3 `int n` may use (Linux does the same for int3 and into). */
export const USER_GATE_VECTORS: ReadonlySet<number> = new Set([3, 4]);
/** Vectors taken on IST1 (a known-good stack even if RSP0 were unusable): NMI, #DF, #MC. */
export const IST1_VECTORS: ReadonlySet<number> = new Set([2, 8, 18]);

// Page-table entry bits (SDM Vol. 3A Table 4-19/4-20).
const PTE_P = 1n << 0n;
const PTE_RW = 1n << 1n;
const PTE_US = 1n << 2n;
const PTE_A = 1n << 5n;
const PTE_D = 1n << 6n;
const PTE_NX = 1n << 63n;
const PTE_ADDR_MASK = 0x000f_ffff_ffff_f000n;

export interface PageFlags {
  write: boolean;
  user: boolean;
  exec: boolean;
}

/** Bytes of `mov [abs addr], al`. */
export const STORE_AL_LENGTH = 9;

/** `mov [abs addr], al`: A2 followed by the 64-bit address (no register is read but AL). */
export function moffsStoreAl(addr: bigint): Uint8Array {
  const out = new Uint8Array(STORE_AL_LENGTH);
  out[0] = 0xa2;
  new DataView(out.buffer).setBigUint64(1, addr, true);
  return out;
}

/** The terminator appended to the code: `mov [abs DONE_VA], al` (A2 moffs64), 9 bytes. */
export const TERMINATOR = moffsStoreAl(DONE_VA);
/** Most code bytes a run may have: the code pages minus the terminator. */
export const CODE_MAX = CODE_PAGES * PAGE_SIZE - TERMINATOR.length;
/** Code pages past the terminator hold INT3: a run that jumps beyond its end takes #BP. */
export const CODE_FILL = 0xcc;

/** The CPL0 stub address for an exception vector. */
export function stubAddress(vector: number): number {
  return STUBS_VA + vector * STUB_STRIDE;
}

/** Builds page tables in a pool of guest-RAM pages; `map` creates missing levels on demand. */
export class PageTableBuilder {
  private readonly dv: DataView;
  private next: number;
  readonly pml4: number;

  constructor(
    private readonly ram: Uint8Array,
    private readonly poolStart = PT_POOL_GPA,
    private readonly poolPages = PT_POOL_PAGES,
  ) {
    this.dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
    this.next = poolStart;
    this.pml4 = this.allocate();
  }

  private allocate(): number {
    if (this.next >= this.poolStart + this.poolPages * PAGE_SIZE) throw new RangeError('page-table pool exhausted');
    const page = this.next;
    this.next += PAGE_SIZE;
    this.ram.fill(0, page, page + PAGE_SIZE);
    return page;
  }

  /** Maps one 4 KiB page; intermediate levels allow everything, the leaf decides. */
  map(va: bigint, gpa: number, flags: PageFlags): void {
    let table = this.pml4;
    for (const shift of [39n, 30n, 21n]) {
      const at = table + Number((va >> shift) & 0x1ffn) * 8;
      let entry = this.dv.getBigUint64(at, true);
      if ((entry & PTE_P) === 0n) {
        entry = BigInt(this.allocate()) | PTE_P | PTE_RW | PTE_US | PTE_A;
        this.dv.setBigUint64(at, entry, true);
      }
      table = Number(entry & PTE_ADDR_MASK);
    }
    let leaf = BigInt(gpa) | PTE_P | PTE_A | PTE_D;
    if (flags.write) leaf |= PTE_RW;
    if (flags.user) leaf |= PTE_US;
    if (!flags.exec) leaf |= PTE_NX;
    this.dv.setBigUint64(table + Number((va >> 12n) & 0x1ffn) * 8, leaf, true);
  }

  mapRange(va: bigint, gpa: number, bytes: number, flags: PageFlags): void {
    for (let off = 0; off < bytes; off += PAGE_SIZE) this.map(va + BigInt(off), gpa + off, flags);
  }
}

/** A legacy (8-byte) code/data descriptor with base 0 and limit 4 GiB, accessed bit preset. */
function segmentDescriptor(access: number, flags: number): bigint {
  // limit 15:0 = ffff, limit 19:16 = f, G/D/L flags in bits 55:52, access byte in 47:40.
  return 0xffffn | (BigInt(access) << 40n) | (0xfn << 48n) | (BigInt(flags) << 52n);
}

/** Access bytes (P | DPL | S | type) and flag nibbles (G | D/B | L). */
const ACCESS_CODE_DPL0 = 0x9b; // present, DPL0, execute/read, accessed
const ACCESS_DATA_DPL0 = 0x93; // present, DPL0, read/write, accessed
const ACCESS_CODE_DPL3 = 0xfb;
const ACCESS_DATA_DPL3 = 0xf3;
const FLAGS_CODE64 = 0xa; // G=1, L=1
const FLAGS_DATA = 0xc; // G=1, D/B=1
/** System-descriptor type 0xB: 64-bit TSS (busy), as LTR would leave it. */
export const TSS_TYPE_BUSY = 0xb;
export const TSS_LIMIT = 0x67;
/** 64-bit TSS fields (SDM Vol. 3A Figure 8-11). */
const TSS_RSP0 = 4;
const TSS_IST1 = 36;
const TSS_IOPB = 102;

function writeGdt(dv: DataView): void {
  const descriptors: [number, bigint][] = [
    [KERNEL_CS, segmentDescriptor(ACCESS_CODE_DPL0, FLAGS_CODE64)],
    [KERNEL_DS, segmentDescriptor(ACCESS_DATA_DPL0, FLAGS_DATA)],
    [USER_DS, segmentDescriptor(ACCESS_DATA_DPL3, FLAGS_DATA)],
    [USER_CS, segmentDescriptor(ACCESS_CODE_DPL3, FLAGS_CODE64)],
  ];
  for (const [selector, d] of descriptors) dv.setBigUint64(GDT_GPA + (selector & ~7), d, true);
  // The 16-byte TSS descriptor: base split over bits 16-39, 56-63 and the next quadword.
  const base = BigInt(TSS_VA);
  const low =
    BigInt(TSS_LIMIT) |
    ((base & 0xffffffn) << 16n) |
    (BigInt(0x80 | TSS_TYPE_BUSY) << 40n) |
    (((base >> 24n) & 0xffn) << 56n);
  dv.setBigUint64(GDT_GPA + TSS_SELECTOR, low, true);
  dv.setBigUint64(GDT_GPA + TSS_SELECTOR + 8, base >> 32n, true);

  dv.setBigUint64(TSS_GPA + TSS_RSP0, BigInt(RSP0_TOP), true);
  dv.setBigUint64(TSS_GPA + TSS_IST1, BigInt(IST1_TOP), true);
  // An I/O-bitmap offset past the limit: no bitmap, so CPL3 port I/O with IOPL 0 is #GP.
  dv.setUint16(TSS_GPA + TSS_IOPB, TSS_LIMIT + 1, true);
}

function writeIdt(dv: DataView): void {
  for (let v = 0; v < IDT_VECTORS; v++) {
    const offset = BigInt(stubAddress(v));
    const dpl = USER_GATE_VECTORS.has(v) ? 3 : 0;
    const ist = IST1_VECTORS.has(v) ? 1 : 0;
    const typeAttr = 0x80 | (dpl << 5) | 0xe; // present, DPL, 64-bit interrupt gate
    const low =
      (offset & 0xffffn) |
      (BigInt(KERNEL_CS) << 16n) |
      (BigInt(ist) << 32n) |
      (BigInt(typeAttr) << 40n) |
      (((offset >> 16n) & 0xffffn) << 48n);
    dv.setBigUint64(IDT_GPA + v * 16, low, true);
    dv.setBigUint64(IDT_GPA + v * 16 + 8, offset >> 32n, true);
  }
}

function writeStubs(ram: Uint8Array): void {
  ram.fill(0xcc, STUBS_GPA, STUBS_GPA + PAGE_SIZE);
  for (let v = 0; v < IDT_VECTORS; v++) {
    const at = STUBS_GPA + v * STUB_STRIDE;
    ram.set(moffsStoreAl(EXC_VA + BigInt(v)), at);
    ram.set([0x0f, 0x0b], at + 9); // ud2: never reached, the store exits first
  }
}

/** Sreg numbers in MOV Sreg, r/m16 (8E /r): ES 0, DS 3, FS 4, GS 5. */
const NULL_LOADED_SREGS = [0, 3, 4, 5];

function writePrologue(ram: Uint8Array): void {
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const zeroVa = Number(PROLOGUE_VA) + PAGE_SIZE - 8; // a zero word in the same page
  let at = PROLOGUE_GPA;
  for (const sreg of NULL_LOADED_SREGS) {
    ram.set([0x8e, 0x04 | (sreg << 3), 0x25], at); // mov sreg, [abs disp32] (SIB, no base, no index)
    dv.setInt32(at + 3, zeroVa, true);
    at += 7;
  }
  ram[at] = 0xe9; // jmp rel32 to CODE_BASE
  dv.setInt32(at + 1, Number(CODE_BASE - (PROLOGUE_VA + BigInt(at + 5 - PROLOGUE_GPA))), true);
}

/** Writes the fixed part of the image (everything but code, data and stack); returns CR3. */
export function buildSandboxImage(ram: Uint8Array): number {
  if (ram.byteLength < RAM_SIZE) throw new RangeError(`sandbox RAM needs ${RAM_SIZE} bytes`);
  ram.fill(0);
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  writeGdt(dv);
  writeIdt(dv);
  writeStubs(ram);
  writePrologue(ram);

  const pt = new PageTableBuilder(ram);
  const kernelRw: PageFlags = { write: true, user: false, exec: false };
  pt.map(BigInt(GDT_VA), GDT_GPA, kernelRw); // the CPU may set a busy bit here
  pt.map(BigInt(IDT_VA), IDT_GPA, { write: false, user: false, exec: false });
  pt.map(BigInt(STUBS_VA), STUBS_GPA, { write: false, user: false, exec: true });
  pt.mapRange(BigInt(KSTACK_GPA), KSTACK_GPA, RSP0_TOP - KSTACK_GPA, kernelRw);
  pt.map(BigInt(IST1_STACK_GPA), IST1_STACK_GPA, kernelRw);
  pt.map(PROLOGUE_VA, PROLOGUE_GPA, { write: false, user: true, exec: true });
  pt.mapRange(CODE_BASE, CODE_GPA, CODE_PAGES * PAGE_SIZE, { write: false, user: true, exec: true });
  pt.mapRange(DATA_BASE, DATA_GPA, DATA_SIZE, { write: true, user: true, exec: false });
  pt.mapRange(USER_STACK_BASE, USER_STACK_GPA, USER_STACK_SIZE, { write: true, user: true, exec: false });
  pt.map(DONE_VA, DONE_GPA, { write: true, user: true, exec: false });
  pt.map(EXC_VA, EXC_GPA, kernelRw);
  return pt.pml4;
}

/** Writes code + terminator + INT3 fill over the code pages. */
export function writeCode(ram: Uint8Array, code: Uint8Array): void {
  if (code.length > CODE_MAX) throw new RangeError(`code of ${code.length} bytes exceeds CODE_MAX (${CODE_MAX})`);
  const end = CODE_GPA + CODE_PAGES * PAGE_SIZE;
  ram.set(code, CODE_GPA);
  ram.set(TERMINATOR, CODE_GPA + code.length);
  ram.fill(CODE_FILL, CODE_GPA + code.length + TERMINATOR.length, end);
}
