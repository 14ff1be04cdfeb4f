/**
 * All architectural registers of one software vCPU, and their exchange with the
 * platform's CpuState (what loaders produce, what KVM takes, what snapshots store).
 * Hot fields are numbers in typed arrays or plain properties with stable shapes;
 * 64-bit values are two 32-bit halves.
 */
import type { CpuState } from '@tsemu/devices/platform';
import { LazyFlags } from '../alu/lazy-flags.js';
import { FpuState } from '../fpu/fpu-state.js';
import { GprFile } from './gpr-file.js';
import { Seg, SEGMENT_NAMES, SegmentCache } from './segment-cache.js';

const lo32 = (v: bigint) => Number(BigInt.asIntN(32, v));
const hi32 = (v: bigint) => Number(BigInt.asIntN(32, v >> 32n));
const join = (lo: number, hi: number) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);

export class CpuRegisters {
  readonly gpr: GprFile;
  readonly seg: SegmentCache;
  readonly flags = new LazyFlags();
  readonly fpu = new FpuState();
  /** Bits 63:32 of RFLAGS are reserved (zero); only the low word exists. */
  rip = 0;
  ripHi = 0;
  cr0 = 0;
  cr2 = 0;
  cr2Hi = 0;
  cr3 = 0;
  cr3Hi = 0;
  cr4 = 0;
  cr8 = 0;
  efer = 0;
  apicBase = 0;
  apicBaseHi = 0;
  gdtBase = 0;
  gdtBaseHi = 0;
  gdtLimit = 0;
  idtBase = 0;
  idtBaseHi = 0;
  idtLimit = 0;

  /**
   * `gpr` and `seg`: where the general-purpose registers and the segment caches live (their
   * constructors take a buffer); ones of their own by default.
   */
  constructor(gpr: GprFile = new GprFile(), seg: SegmentCache = new SegmentCache()) {
    this.gpr = gpr;
    this.seg = seg;
  }

  /**
   * Current privilege level: CS.RPL in protected mode (SS.DPL after loads), 0 in real mode,
   * 3 in virtual-8086 mode (EFLAGS.VM, kept in flags.raw, SDM Vol. 3, 20.2.1).
   */
  get cpl(): number {
    if (!(this.cr0 & 1)) return 0;
    return this.flags.raw & 0x20000 ? 3 : this.seg.selector[Seg.CS] & 3;
  }

  load(s: CpuState): void {
    for (let n = 0; n < 16; n++) this.gpr.set64(n, s.gpr[n] ?? 0n);
    this.rip = lo32(s.rip);
    this.ripHi = hi32(s.rip);
    this.flags.set(Number(s.rflags & 0xffffffffn));
    SEGMENT_NAMES.forEach((name, i) => this.seg.load(i, s[name]));
    this.cr0 = lo32(s.cr0);
    this.cr2 = lo32(s.cr2);
    this.cr2Hi = hi32(s.cr2);
    this.cr3 = lo32(s.cr3);
    this.cr3Hi = hi32(s.cr3);
    this.cr4 = lo32(s.cr4);
    this.cr8 = lo32(s.cr8);
    this.efer = lo32(s.efer);
    this.apicBase = lo32(s.apicBase);
    this.apicBaseHi = hi32(s.apicBase);
    this.gdtBase = lo32(s.gdt.base);
    this.gdtBaseHi = hi32(s.gdt.base);
    this.gdtLimit = s.gdt.limit;
    this.idtBase = lo32(s.idt.base);
    this.idtBaseHi = hi32(s.idt.base);
    this.idtLimit = s.idt.limit;
  }

  save(): CpuState {
    const seg = (i: number) => this.seg.save(i);
    return {
      gpr: Array.from({ length: 16 }, (_, n) => this.gpr.get64(n)),
      rip: join(this.rip, this.ripHi),
      rflags: BigInt(this.flags.get() >>> 0),
      es: seg(Seg.ES), cs: seg(Seg.CS), ss: seg(Seg.SS), ds: seg(Seg.DS),
      fs: seg(Seg.FS), gs: seg(Seg.GS), ldt: seg(Seg.LDTR), tr: seg(Seg.TR),
      gdt: { base: join(this.gdtBase, this.gdtBaseHi), limit: this.gdtLimit },
      idt: { base: join(this.idtBase, this.idtBaseHi), limit: this.idtLimit },
      cr0: BigInt(this.cr0 >>> 0),
      cr2: join(this.cr2, this.cr2Hi),
      cr3: join(this.cr3, this.cr3Hi),
      cr4: BigInt(this.cr4 >>> 0),
      cr8: BigInt(this.cr8 >>> 0),
      efer: BigInt(this.efer >>> 0),
      apicBase: join(this.apicBase, this.apicBaseHi),
    };
  }
}
