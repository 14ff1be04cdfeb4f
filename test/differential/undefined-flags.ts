/**
 * What the SDM leaves undefined, and whether this host's CPU can be the oracle for it.
 *
 * tsemu's CPU model is an Intel one (a Pentium II signature, handlers/cpuid-msr.ts), and its
 * handlers compute the flags and results the SDM calls undefined exactly as Intel cores do:
 * the differential tests established that bit for bit on Intel hosts. AMD cores compute some
 * of them differently (measured on a Zen 3 host: AF after shifts, OF after multi-bit rotates
 * and shifts, SF/ZF/AF/PF after MUL and DIV), so on a host that is not Intel's the tests
 * compare only what the SDM defines. They say so in their output: the undefined parts are
 * then checked only by the Intel runs and by the unit tests that pin the Intel values.
 */
import { readFileSync } from 'node:fs';
import { AF, ARITH_FLAGS, CF, OF, PF, SF, ZF } from '../../packages/core-cpu/src/alu/lazy-flags.js';

function hostVendor(): string {
  try {
    return /^vendor_id\s*:\s*(\S+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The host CPU's CPUID vendor string (GenuineIntel, AuthenticAMD ...). */
export const HOST_VENDOR = hostVendor();

/** True when the host computes undefined flags and results as tsemu does (an Intel core). */
export const HOST_MATCHES_UNDEFINED = HOST_VENDOR === 'GenuineIntel';

/** One line for a test's output saying what is compared on this host. */
export const UNDEFINED_NOTE = HOST_MATCHES_UNDEFINED
  ? `host ${HOST_VENDOR}: undefined flags and results compared too`
  : `host ${HOST_VENDOR}: flags and results the SDM leaves undefined are not compared (tsemu follows Intel's)`;

let noted = false;
/** Prints UNDEFINED_NOTE once per test file, from whichever of its tests compares first. */
export function noteUndefinedOnce(): void {
  if (!noted) console.log(UNDEFINED_NOTE);
  noted = true;
}

/** The flags a comparison on this host looks at, of `undefinedFlags` the SDM leaves undefined. */
export function comparedFlags(undefinedFlags: number): number {
  return HOST_MATCHES_UNDEFINED ? ARITH_FLAGS : ARITH_FLAGS & ~undefinedFlags;
}

/**
 * 64-bit code that clears, on this host, the flags of `undefinedFlags` that are not compared:
 * PUSHFQ; AND QWORD [RSP], ~flags; POPFQ. Appended to a case whose comparison looks at every
 * flag (soft64-vs-cpu.ts), it hides them on both CPUs; empty on an Intel host.
 */
export function clearUncomparedFlagsCode(undefinedFlags: number): number[] {
  const hidden = ARITH_FLAGS & ~comparedFlags(undefinedFlags);
  if (hidden === 0) return [];
  const mask = ~hidden >>> 0;
  return [0x9c, 0x48, 0x81, 0x24, 0x24, mask & 0xff, (mask >>> 8) & 0xff, (mask >>> 16) & 0xff, mask >>> 24, 0x9d];
}

/** Group-2 operations in /digit order: ROL ROR RCL RCR SHL SHR SAL SAR. */
export type Group2 = 'rol' | 'ror' | 'rcl' | 'rcr' | 'shl' | 'shr' | 'sal' | 'sar';
/** The group-2 operations indexed by their ModRM /digit. */
export const GROUP2: readonly Group2[] = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sal', 'sar'];

/**
 * Flags a group-2 instruction leaves undefined for a masked count `count` (0-31, or 0-63 with
 * a 64-bit operand) on an operand of `bits`: nothing for count 0; OF past a 1-bit count; for
 * the shifts AF too, and CF when SHL/SHR shift the whole operand out.
 */
export function group2Undefined(op: Group2, bits: number, count: number): number {
  if (count === 0) return 0;
  let flags = count > 1 ? OF : 0;
  if (op === 'shl' || op === 'shr' || op === 'sal' || op === 'sar') {
    flags |= AF;
    if (op !== 'sar' && count >= bits) flags |= CF;
  }
  return flags;
}

/**
 * SHLD/SHRD with masked count `count`: AF for any count, OF past 1; past the operand size (16-bit
 * forms, counts 17-31) the result and every flag.
 */
export function doubleShiftUndefined(bits: number, count: number): { flags: number; result: boolean } {
  if (count === 0) return { flags: 0, result: false };
  if (count > bits) return { flags: ARITH_FLAGS, result: true };
  return { flags: AF | (count > 1 ? OF : 0), result: false };
}

/** BT, BTS, BTR, BTC: CF is the bit, ZF unchanged; OF, SF, AF and PF undefined. */
export const BIT_TEST_UNDEFINED = OF | SF | AF | PF;

/** BSF, BSR: ZF says whether the source was 0 (then the destination is undefined); the rest undefined. */
export const BIT_SCAN_UNDEFINED = CF | OF | SF | AF | PF;

/** MUL, IMUL (every form): CF and OF defined, SF, ZF, AF, PF undefined. */
export const MUL_UNDEFINED = SF | ZF | AF | PF;

/** DIV, IDIV: all six undefined. */
export const DIV_UNDEFINED = ARITH_FLAGS;

/** The decimal adjusts: what each leaves undefined. */
export const BCD_UNDEFINED: Readonly<Record<'daa' | 'das' | 'aaa' | 'aas' | 'aam' | 'aad', number>> = {
  daa: OF,
  das: OF,
  aaa: OF | SF | ZF | PF,
  aas: OF | SF | ZF | PF,
  aam: OF | AF | CF,
  aad: OF | AF | CF,
};

/**
 * Opcode-table keys whose flags or result the SDM leaves undefined for some operands (shifts
 * and rotates, SHLD/SHRD, bit tests and scans, BSWAP r16, multiply, divide, decimal adjusts).
 * A random sequence carries an undefined flag into whatever reads it later (ADC, Jcc, PUSHF),
 * so on a host that computes them differently these are left out of the random draw.
 */
export function keyLeavesSomethingUndefined(key: string): boolean {
  return /^(rol|ror|rcl|rcr|shl|shr|sal|sar|shld|shrd|bt|bts|btr|btc|bsf|bsr|bswap|mul|imul|div|idiv|daa|das|aaa|aas|aam|aad)_/.test(key) ||
    /^(daa|das|aaa|aas|aam|aad)$/.test(key);
}
