/**
 * Segment-register loads in protected mode with every check of SDM Vol. 2 "MOV", "POP",
 * "LDS/LES/LFS/LGS/LSS" and Vol. 3, 5.5-5.7: null selectors (allowed for DS/ES/FS/GS, #GP(0)
 * for SS), table limits, descriptor type, RPL/CPL/DPL, present (#NP, or #SS for SS), and the
 * accessed bit. `loadSegment` is the one entry for MOV/POP/Lxx in every mode.
 */
import { Attr, Seg } from '../../state/segment-cache.js';
import { raise, Vector } from '../faults.js';
import type { SoftCpu } from '../soft-cpu.js';
import { loadRealModeSegment } from '../stack.js';
import { loadNullStack } from './long-mode-interrupts.js';
import {
  D_TYPE_SHIFT, desc, descDpl, isCode, isPresent, isSegment, loadCache, loadNull, readDescriptor, setAccessed,
  TYPE_CODE, TYPE_CONFORMING, TYPE_READABLE, TYPE_WRITABLE,
} from './descriptor.js';

const FLAG_VM = 0x20000;
const EFER_LMA = 0x400;

/** True when `hi` is a present-or-not writable data segment (what SS needs). */
export function isWritableData(hi: number): boolean {
  return isSegment(hi) && (hi & ((TYPE_CODE | TYPE_WRITABLE) << D_TYPE_SHIFT)) === TYPE_WRITABLE << D_TYPE_SHIFT;
}

/**
 * Checks the descriptor in `desc` as a new SS for privilege `cpl`, raising `vector`
 * (#GP for MOV/POP/LSS and far RET/IRET, #TS for stack switches) with `code`.
 */
export function checkStackDescriptor(selector: number, cpl: number, vector: number, code: number): void {
  const hi = desc.hi;
  if ((selector & 3) !== cpl || !isWritableData(hi) || descDpl(hi) !== cpl) raise(vector, code);
}

/** MOV/POP/LSS into SS, DS, ES, FS or GS (not CS). */
export function loadSegment(cpu: SoftCpu, seg: number, selector: number): void {
  const r = cpu.regs;
  if (!(r.cr0 & 1) || r.flags.get() & FLAG_VM) {
    loadRealModeSegment(cpu, seg, selector);
    return;
  }
  const cpl = r.cpl;
  const code = selector & 0xfffc;
  if (seg === Seg.SS) {
    if (code === 0) {
      // 64-bit mode allows a null SS below CPL 3 (RPL = CPL), SDM Vol. 2 "MOV" 64-bit mode.
      if (r.efer & EFER_LMA && r.seg.attr[Seg.CS] & Attr.L && cpl !== 3 && (selector & 3) === cpl) {
        loadNullStack(cpu, cpl);
        return;
      }
      raise(Vector.GP, 0);
    }
    readDescriptor(cpu, selector, Vector.GP, 0);
    checkStackDescriptor(selector, cpl, Vector.GP, code);
    if (!isPresent(desc.hi)) raise(Vector.SS, code);
  } else {
    if (code === 0) {
      loadNull(cpu, seg, selector);
      return;
    }
    readDescriptor(cpu, selector, Vector.GP, 0);
    const hi = desc.hi;
    if (!isSegment(hi)) raise(Vector.GP, code);
    if (isCode(hi)) {
      if (!(hi & (TYPE_READABLE << D_TYPE_SHIFT))) raise(Vector.GP, code);
      if (!(hi & (TYPE_CONFORMING << D_TYPE_SHIFT)) && ((selector & 3) > descDpl(hi) || cpl > descDpl(hi))) raise(Vector.GP, code);
    } else if ((selector & 3) > descDpl(hi) || cpl > descDpl(hi)) raise(Vector.GP, code);
    if (!isPresent(hi)) raise(Vector.NP, code);
  }
  setAccessed(cpu);
  loadCache(cpu, seg, selector);
}

/**
 * After a return to an outer privilege level (far RET, IRET): DS/ES/FS/GS whose segment
 * the new CPL may not use (data or non-conforming code with DPL < CPL) become null
 * (SDM Vol. 2, "RET", RETURN-TO-OUTER-PRIVILEGE-LEVEL).
 */
export function invalidateDataSegments(cpu: SoftCpu): void {
  const s = cpu.regs.seg;
  const cpl = cpu.regs.cpl;
  for (const seg of OUTER_SEGS) {
    const a = s.attr[seg];
    if (a & Attr.Unusable) continue;
    const conformingCode = (a & (Attr.S | 0xc)) === (Attr.S | 0xc);
    if (!conformingCode && ((a >> 5) & 3) < cpl) loadNull(cpu, seg, 0);
  }
}

const OUTER_SEGS = [Seg.ES, Seg.DS, Seg.FS, Seg.GS] as const;
