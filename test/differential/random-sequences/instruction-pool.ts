/**
 * Which opcode-table entries the random-sequence generator may use: those valid in 64-bit mode
 * at CPL3 that the KVM sandbox executes natively and deterministically. Everything else is
 * left out with a reason, so the pool is derived from the table (a new row joins the test by
 * itself) and the exclusions stay a short, reviewable list.
 *
 * Sources for the exclusions: kvm-user-sandbox.ts (what this host's PVM does differently from
 * hardware), the brief of this test (host-dependent results), SDM Vol. 2 (what needs CPL0).
 */
import { OPCODE_TABLE } from '../../../packages/core-cpu/src/decoder/opcode-table.js';
import {
  ENTRY_I64, ENTRY_IOPL, ENTRY_PRIVILEGED, ENTRY_X87, type OpcodeEntry,
} from '../../../packages/core-cpu/src/decoder/opcode-types.js';

/** Left out by mnemonic, with the reason. */
export const EXCLUDED_MNEMONICS: ReadonlyMap<string, string> = new Map([
  ['int', 'PVM raises #UD for int imm8 (hardware: #GP through the IDT limit); INT3 covers the gate path'],
  ['int1', 'ICEBP is a debug event PVM may intercept'],
  ['syscall', 'PVM executes SYSCALL with EFER.SCE = 0 (hardware: #UD)'],
  ['sysenter', 'PVM raises #UD (Intel hardware: #GP(0))'],
  ['cpuid', 'host-dependent result'],
  ['rdtsc', 'host-dependent result'],
  ['rdtscp', 'host-dependent result'],
  ['rdpmc', 'host-dependent result'],
  ['fwait', 'the x87 state is not reset between sandbox runs: a pending exception would leak in'],
  ['sldt', 'PVM shows CPL3 code the host descriptor tables'],
  ['str', 'PVM shows CPL3 code the host descriptor tables'],
  ['sgdt', 'PVM shows CPL3 code the host descriptor tables'],
  ['sidt', 'PVM shows CPL3 code the host descriptor tables'],
  ['smsw', 'PVM shows CPL3 code the host control registers'],
  ['lar', 'reads descriptors: PVM shows CPL3 code the host GDT'],
  ['lsl', 'reads descriptors: PVM shows CPL3 code the host GDT'],
  ['verr', 'reads descriptors: PVM shows CPL3 code the host GDT'],
  ['verw', 'reads descriptors: PVM shows CPL3 code the host GDT'],
  ['lss', 'segment load (the sandbox keeps the host selectors)'],
  ['lfs', 'segment load (the sandbox keeps the host selectors)'],
  ['lgs', 'segment load (the sandbox keeps the host selectors)'],
  ['retf', 'far transfer'],
  ['iret', 'far transfer'],
  ['rsm', 'SMM only'],
  ['fxsave', 'stores the x87/SSE state, which the sandbox does not reset between runs (x87 tests cover it)'],
  ['fxrstor', 'loads the x87/SSE state, which would leak into later sandbox runs (x87 tests cover it)'],
]);

/** Operand methods that mark an entry out of scope: segment registers, far pointers, CR/DR. */
function excludedByOperands(e: OpcodeEntry): string | null {
  const key = e.key;
  if (/_(Sw|ES|CS|SS|DS|FS|GS)(_|$)/.test(key)) return 'segment register operand (MOV Sreg / PUSH/POP Sreg)';
  if (/_(Mp|Ap)(_|$)/.test(key)) return 'far transfer';
  return null;
}

/**
 * 0F 1A-0F 1C and 0F 1E are hint space that later ISA extensions (MPX, CLDEMOTE, CET) took over;
 * the host may give them meaning (e.g. F3 0F 1E is ENDBR/RDSSP). 0F 18 /4-/7 and 0F 19, 0F 1D,
 * 0F 1F stay plain NOPs everywhere.
 */
const HINT_SPACE_TAKEN = new Set([0x0f1a, 0x0f1b, 0x0f1c, 0x0f1e]);

/** Why `e` is not in the pool, or null when it is. */
export function exclusionReason(e: OpcodeEntry): string | null {
  if (e.special) return 'picked by the decoder itself (NOP/PAUSE), not through the table';
  if ((e.attrs & ENTRY_I64) !== 0) return 'invalid in 64-bit mode';
  if ((e.attrs & ENTRY_X87) !== 0) return 'x87 (x87-vs-cpu tests cover it)';
  if ((e.attrs & ENTRY_PRIVILEGED) !== 0) return 'privileged (CPL0 only)';
  if ((e.attrs & ENTRY_IOPL) !== 0) return 'I/O or IOPL-sensitive';
  if (e.prefix !== undefined) return 'mandatory-prefix row (host ISA extension space)';
  if (HINT_SPACE_TAKEN.has(e.op)) return 'hint space taken by a later ISA extension on the host';
  const byName = EXCLUDED_MNEMONICS.get(e.names[0]) ?? EXCLUDED_MNEMONICS.get(e.mnemonic);
  if (byName !== undefined) return byName;
  return excludedByOperands(e);
}

/** The entries the generator draws from, in table order. */
export const POOL: readonly OpcodeEntry[] = OPCODE_TABLE.filter((e) => exclusionReason(e) === null);

/**
 * Relative draw weights: control transfers and faulting instructions end or skip the rest of a
 * sequence, so they are drawn less often than the data-flow instructions.
 */
export function weightOf(e: OpcodeEntry): number {
  const m = e.names[0];
  if (m === 'int3' || m === 'ud2' || m === 'ud1') return 0.2;
  if (m === 'ret' || m === 'popf' || m === 'leave' || m === 'enter') return 0.4;
  if (m.startsWith('j') || m.startsWith('loop') || m === 'call') return 0.6;
  return 1;
}
