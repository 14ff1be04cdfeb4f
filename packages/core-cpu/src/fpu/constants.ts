/**
 * The x87 load-constant instructions FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2 and FLDZ
 * (SDM Vol. 2, FLD1/FLDL2T/...). Since the 387 each irrational constant is rounded to 64 bits
 * with the control word's RC (FLDPI gives ...C234 when rounding down or toward zero, ...C235
 * otherwise); PC does not apply and no exception is raised. The SDM speaks of 66-bit internal
 * constants, but FLDLG2 (bits 64-65 = 10, more ones beyond) rounds up to nearest on the
 * hardware, so the rounding here uses the full 128-bit expansions (log2 10, log2 e, pi,
 * log10 2, ln 2; computed to 300 bits and truncated).
 */
import { Float80, setZero } from './float80.js';
import { EXTENDED_RANGE, ROUND_W, packExtended, roundSignificand } from './round.js';

export enum FpuConstant {
  One,
  Log2Ten,
  Log2E,
  Pi,
  Log10Two,
  LnTwo,
  Zero,
}

/** [w0, w1, w2, w3, exponent of the top bit] */
const EXPANSIONS: Record<FpuConstant, number[] | null> = {
  [FpuConstant.One]: [0x80000000, 0, 0, 0, 0],
  [FpuConstant.Log2Ten]: [0xd49a784b, 0xcd1b8afe, 0x492bf6ff, 0x4dafdb4c, 1],
  [FpuConstant.Log2E]: [0xb8aa3b29, 0x5c17f0bb, 0xbe87fed0, 0x691d3e88, 0],
  [FpuConstant.Pi]: [0xc90fdaa2, 0x2168c234, 0xc4c6628b, 0x80dc1cd1, 1],
  [FpuConstant.Log10Two]: [0x9a209a84, 0xfbcff798, 0x8f8959ac, 0x0b7c9178, -2],
  [FpuConstant.LnTwo]: [0xb17217f7, 0xd1cf79ab, 0xc9e3b398, 0x03f2f6af, -1],
  [FpuConstant.Zero]: null,
};

/** Loads a constant rounded with `rc`; returns FSW bits (always 0: C1 cleared, no exception). */
export function loadConstant(which: FpuConstant, rc: number, out: Float80): number {
  const c = EXPANSIONS[which];
  if (c === null) {
    setZero(out, 0);
    return 0;
  }
  const w = ROUND_W;
  w[0] = c[0];
  w[1] = c[1];
  w[2] = c[2];
  w[3] = c[3];
  roundSignificand(0, c[4], 64, EXTENDED_RANGE, rc);
  packExtended(0, out);
  return 0;
}
