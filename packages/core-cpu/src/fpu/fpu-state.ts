/**
 * The x87 register file and its control registers (SDM Vol. 1, 8.1): eight 80-bit data
 * registers R0-R7 held in typed arrays (Float80RegisterFile, no allocation per access), the
 * stack top TOP, the tag bits, the control word FCW, the status word FSW, and the last
 * instruction/operand pointers FIP/FCS, FDP/FDS and opcode FOP.
 *
 * Tags: like every P6 and later, only the abridged tag (empty / not empty, one bit per physical
 * register: the FXSAVE format) is kept; the full 2-bit tag word that FNSTENV/FNSAVE store is
 * computed from the register contents (SDM Vol. 1, 8.1.7), and FLDENV/FRSTOR take only the
 * "empty" (11b) information from a loaded tag word.
 *
 * `sw` holds the status word without TOP (bits 13:11), which lives in `top` so ST(i) mapping is
 * one add; statusWord() composes them. ES and B (bits 7 and 15) are kept equal.
 *
 * Pointers: FIP/FDP are 64-bit in 64-bit mode (FXSAVE64), so each has a high half. In real
 * mode the selectors hold the CS/DS value and the offsets the IP/offset; the real-mode
 * environment formats store the 20-bit linear form computed from them.
 */
import type { Persistable } from '@tsemu/devices/platform';
import { z } from 'zod';
import { F80Class, Float80, Float80RegisterFile, classify } from './float80.js';
import { FCW_DEFAULT, FSW_EXCEPTIONS } from './round.js';

/** Status-word bits not in round.ts (SDM Vol. 1, Figure 8-4). */
export const FSW_ES = 0x0080;
export const FSW_B = 0x8000;
export const FSW_TOP_SHIFT = 11;
export const FSW_TOP_MASK = 0x3800;
/** C0, C1, C2, C3. */
export const FSW_CC = 0x4700;

/** Full tag values (SDM Vol. 1, Figure 8-7). */
export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

/** Control word after RESET (SDM Vol. 3A, Table 10-1): 0040H; FNINIT gives FCW_DEFAULT (037FH). */
export const FCW_RESET = 0x0040;
/** Bits of the control word that exist: IM-PM, PC, RC, IC (bit 12); bit 6 reads as 1. */
export const FCW_WRITABLE = 0x1f3f;
export const FCW_ALWAYS_ONE = 0x0040;

const hex20 = z.string().regex(/^[0-9a-f]{20}$/);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);

export const fpuStateSchema = z.object({
  version: z.literal(1),
  fcw: u16,
  /** The full status word, TOP included. */
  fsw: u16,
  /** Abridged tag: bit i set = physical register Ri not empty. */
  ftw: z.number().int().min(0).max(0xff),
  /** R0-R7 as 20 hex digits (sign/exponent first). */
  regs: z.array(hex20).length(8),
  fip: u32,
  fipHi: u32,
  fcs: u16,
  fdp: u32,
  fdpHi: u32,
  fds: u16,
  fop: z.number().int().min(0).max(0x7ff),
});
export type FpuStateSnapshot = z.infer<typeof fpuStateSchema>;

const SCRATCH = new Float80();

export class FpuState implements Persistable<FpuStateSnapshot> {
  /** The physical registers R0-R7. */
  readonly regs = new Float80RegisterFile();
  top = 0;
  /** Abridged tag bits: bit i set when Ri holds a value. */
  valid = 0;
  cw = FCW_DEFAULT;
  /** Status word without TOP. */
  sw = 0;
  fip = 0;
  fipHi = 0;
  fcs = 0;
  fdp = 0;
  fdpHi = 0;
  fds = 0;
  fop = 0;
  /**
   * FERR# for CR0.NE = 0 (PC-style error reporting through IRQ13): called when a waiting x87
   * instruction finds an unmasked exception pending. Null: nothing is signalled.
   */
  ferr: (() => void) | null = null;

  constructor(readonly persistKey = 'cpu0/fpu') {
    this.reset();
  }

  /** Power-on/RESET state (SDM Vol. 3A, Table 10-1): FCW 0040H, FSW 0, tags 5555H (+0.0 everywhere). */
  reset(): void {
    for (let i = 0; i < 8; i++) this.regs.store(i, SCRATCH.set(0, 0, 0));
    this.valid = 0xff;
    this.cw = FCW_RESET;
    this.sw = 0;
    this.top = 0;
    this.clearPointers();
  }

  /** FNINIT (SDM Vol. 2, FINIT/FNINIT): registers keep their contents but are tagged empty. */
  init(): void {
    this.cw = FCW_DEFAULT;
    this.sw = 0;
    this.top = 0;
    this.valid = 0;
    this.clearPointers();
  }

  clearPointers(): void {
    this.fip = 0;
    this.fipHi = 0;
    this.fcs = 0;
    this.fdp = 0;
    this.fdpHi = 0;
    this.fds = 0;
    this.fop = 0;
  }

  statusWord(): number {
    return (this.sw & ~FSW_TOP_MASK) | (this.top << FSW_TOP_SHIFT);
  }

  /** Loads a status word (FLDENV, FRSTOR, FXRSTOR): TOP from bits 13:11, ES/B recomputed. */
  setStatusWord(v: number): void {
    this.top = (v >>> FSW_TOP_SHIFT) & 7;
    this.sw = v & 0xffff & ~FSW_TOP_MASK;
    this.updateErrorSummary();
  }

  /** Loads the control word (FLDCW and the state loads). */
  setControlWord(v: number): void {
    this.cw = (v & FCW_WRITABLE) | FCW_ALWAYS_ONE;
    this.updateErrorSummary();
  }

  /**
   * ES and B follow the exception flags against the masks: a flag unmasked by FLDCW (or
   * loaded set by FLDENV/FRSTOR) makes the next waiting instruction take the exception.
   */
  updateErrorSummary(): void {
    if (this.sw & ~this.cw & FSW_EXCEPTIONS) this.sw |= FSW_ES | FSW_B;
    else this.sw &= ~(FSW_ES | FSW_B);
  }

  /** Physical register number of ST(i). */
  phys(i: number): number {
    return (this.top + i) & 7;
  }

  /** Full tag of physical register `r`, computed from its contents. */
  tagOf(r: number): number {
    if ((this.valid & (1 << r)) === 0) return TAG_EMPTY;
    const c = classify(this.regs.load(r, SCRATCH));
    if (c === F80Class.Zero) return TAG_ZERO;
    if (c === F80Class.Normal) return TAG_VALID;
    return TAG_SPECIAL;
  }

  /** The 16-bit tag word, two bits per physical register (R0 in bits 1:0). */
  tagWord(): number {
    let tw = 0;
    for (let r = 0; r < 8; r++) tw |= this.tagOf(r) << (2 * r);
    return tw;
  }

  /** Takes only empty / not empty from a full tag word (the P6 behaviour of FLDENV/FRSTOR). */
  setTagWord(tw: number): void {
    let v = 0;
    for (let r = 0; r < 8; r++) if (((tw >>> (2 * r)) & 3) !== TAG_EMPTY) v |= 1 << r;
    this.valid = v;
  }

  save(): FpuStateSnapshot {
    const regs: string[] = [];
    for (let r = 0; r < 8; r++) regs.push(this.regs.load(r, SCRATCH).toHex());
    return {
      version: 1,
      fcw: this.cw,
      fsw: this.statusWord(),
      ftw: this.valid,
      regs,
      fip: this.fip >>> 0,
      fipHi: this.fipHi >>> 0,
      fcs: this.fcs & 0xffff,
      fdp: this.fdp >>> 0,
      fdpHi: this.fdpHi >>> 0,
      fds: this.fds & 0xffff,
      fop: this.fop & 0x7ff,
    };
  }

  restore(state: FpuStateSnapshot): void {
    const s = fpuStateSchema.parse(state);
    for (let r = 0; r < 8; r++) this.regs.store(r, Float80.fromHex(s.regs[r]));
    this.cw = s.fcw;
    this.top = (s.fsw >>> FSW_TOP_SHIFT) & 7;
    this.sw = s.fsw & ~FSW_TOP_MASK;
    this.valid = s.ftw;
    this.fip = s.fip;
    this.fipHi = s.fipHi;
    this.fcs = s.fcs;
    this.fdp = s.fdp;
    this.fdpHi = s.fdpHi;
    this.fds = s.fds;
    this.fop = s.fop;
  }
}
