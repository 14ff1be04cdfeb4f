/**
 * Compares the real CPU's result of a random sequence (KvmUserSandbox) with the software
 * CPU's (TcgSandbox): how the run ended, the exception vector, error code and CR2, RIP, all 16
 * GPRs, RFLAGS, the data area and the user stack. On a difference it formats everything a
 * human needs to reproduce it: seed, disassembly, input state, both results.
 *
 * RFLAGS: every defined bit but RF is compared. The SDM leaves some arithmetic flags undefined
 * (shift/rotate OF for counts > 1, AF after logic ops, SZAP after MUL/IMUL, most flags after
 * BSF/BSR/BT and DIV), but an Intel host computes them deterministically and the interpreter
 * follows it (lazy-flags-vs-cpu, shift-flags-vs-cpu and muldiv-vs-cpu established that), so
 * nothing is masked. On another vendor's host the instructions that leave flags undefined are
 * not drawn at all (undefined-flags.ts, random-sequences.test.ts). A mask belongs in
 * NONDETERMINISTIC_FLAGS only for a flag measured to vary between runs of the same input.
 */
import type { SandboxResult } from '../kvm-user-sandbox.js';
import { CODE_BASE, DATA_BASE, USER_STACK_BASE } from '../sandbox-layout.js';
import type { Sequence } from './sequence-generator.js';
import type { TcgResult } from './tcg-runner.js';

/** Table key -> RFLAGS bits the hardware leaves nondeterministic. Empty: none measured. */
export const NONDETERMINISTIC_FLAGS: ReadonlyMap<string, number> = new Map();

/** Every RFLAGS bit the comparison looks at: bits 0-21 without RF (bit 16, cleared by the sandbox at faults). */
const COMPARED_RFLAGS = 0x3effffn;

const NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

export function flagMask(sequence: Sequence): bigint {
  let mask = COMPARED_RFLAGS;
  for (const key of sequence.keys) mask &= ~BigInt(NONDETERMINISTIC_FLAGS.get(key) ?? 0);
  return mask;
}

function exceptionText(r: SandboxResult | TcgResult): string {
  const e = r.exception;
  if (e === null) return 'none';
  let text = `#${e.vector}`;
  if (e.errorCode !== null) text += ` error ${hex(e.errorCode)}`;
  if (e.pageFaultAddress !== null) text += ` cr2 ${hex(e.pageFaultAddress)}`;
  return text;
}

function bytesDiffer(name: string, base: bigint, want: Uint8Array, got: Uint8Array, out: string[]): void {
  if (Buffer.compare(want, got) === 0) return;
  const at: string[] = [];
  for (let i = 0; i < want.length && at.length < 8; i++) {
    if (want[i] !== got[i]) at.push(`${hex(base + BigInt(i))}: cpu ${want[i].toString(16).padStart(2, '0')} tcg ${got[i].toString(16).padStart(2, '0')}`);
  }
  out.push(`${name} differs (${at.join(', ')}${at.length === 8 ? ', ...' : ''})`);
}

/** The differences between the hardware result and the software one (empty when they agree). */
export function compareResults(sequence: Sequence, hw: SandboxResult, tcg: TcgResult): string[] {
  const out: string[] = [];
  if (hw.end !== tcg.end) out.push(`end: cpu ${hw.end}, tcg ${tcg.end}${tcg.hostError ? ` (${tcg.hostError})` : ''}`);
  const hwExc = exceptionText(hw);
  const tcgExc = exceptionText(tcg);
  if (hwExc !== tcgExc) out.push(`exception: cpu ${hwExc}, tcg ${tcgExc}`);
  if (hw.rip !== tcg.rip) out.push(`rip: cpu ${hex(hw.rip)}, tcg ${hex(tcg.rip)}`);
  for (let i = 0; i < 16; i++) {
    if (BigInt.asUintN(64, hw.gpr[i]) !== BigInt.asUintN(64, tcg.gpr[i])) out.push(`${NAMES[i]}: cpu ${hex(BigInt.asUintN(64, hw.gpr[i]))}, tcg ${hex(tcg.gpr[i])}`);
  }
  const mask = flagMask(sequence);
  if ((hw.rflags & mask) !== (tcg.rflags & mask)) {
    out.push(`rflags: cpu ${hex(hw.rflags & mask)}, tcg ${hex(tcg.rflags & mask)} (xor ${hex((hw.rflags ^ tcg.rflags) & mask)})`);
  }
  bytesDiffer('data', DATA_BASE, hw.data, tcg.data, out);
  bytesDiffer('stack', USER_STACK_BASE, hw.stack, tcg.stack, out);
  return out;
}

/** The listing of a sequence, one instruction a line, with addresses and bytes. */
export function formatListing(sequence: Sequence): string {
  return sequence.listing
    .map((l) => {
      const bytes = Buffer.from(l.bytes.subarray(0, 15)).toString('hex') + (l.bytes.length > 15 ? `.. (${l.bytes.length} bytes)` : '');
      return `  ${hex(CODE_BASE + BigInt(l.offset))}  ${bytes.padEnd(30)} ${l.text}${l.setup ? '    ; setup' : ''}`;
    })
    .join('\n');
}

function formatGprs(gpr: readonly bigint[]): string {
  const rows: string[] = [];
  for (let i = 0; i < 16; i += 4) {
    rows.push('  ' + NAMES.slice(i, i + 4).map((n, k) => `${n.padStart(3)}=${BigInt.asUintN(64, gpr[i + k]).toString(16).padStart(16, '0')}`).join(' '));
  }
  return rows.join('\n');
}

function formatResult(name: string, r: SandboxResult | TcgResult): string {
  const extra = 'hostError' in r && r.hostError ? ` host error: ${r.hostError}` : '';
  return `${name}: end ${r.end}, exception ${exceptionText(r)}, rip ${hex(r.rip)}, rflags ${hex(r.rflags)}${extra}\n${formatGprs(r.gpr)}`;
}

/** A full mismatch report: seed, disassembly, input state, both results and the differences. */
export function formatReport(sequence: Sequence, hw: SandboxResult, tcg: TcgResult, differences: readonly string[]): string {
  const input = sequence.input;
  return [
    `seed ${sequence.seed} (0x${sequence.seed.toString(16)}): ${differences.length} difference(s)`,
    ...differences.map((d) => `  - ${d}`),
    'code:',
    formatListing(sequence),
    `input: rflags ${hex(input.rflags)}`,
    formatGprs(input.gpr),
    formatResult('cpu', hw),
    formatResult('tcg', tcg),
  ].join('\n');
}
