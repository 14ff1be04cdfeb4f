/*
 * Differential test of the decoder (lengths) and the Intel-syntax disassembler (text) against
 * GNU objdump (binutils 2.40): every table entry, random operand bytes and prefixes, in 16-,
 * 32- and 64-bit modes. Skips with a message when objdump is absent, fails if CI=true.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { generate } from './encoding-generator.js';
import type { Generated } from './encoding-generator.js';

const OBJDUMP = process.env.OBJDUMP ?? '/usr/bin/objdump';
const HAVE_OBJDUMP = existsSync(OBJDUMP) || (() => {
  try { execFileSync('objdump', ['--version']); return true; } catch { return false; }
})();
const OBJDUMP_BIN = existsSync(OBJDUMP) ? OBJDUMP : 'objdump';

/** Encodings per entry and mode; ORACLE_PER_ENTRY / ORACLE_SEED widen a local soak run. */
const PER_ENTRY = Number(process.env.ORACLE_PER_ENTRY ?? 13);
const SEED = Number(process.env.ORACLE_SEED ?? 0x5eed0000);

const MACHINE: Record<CpuMode, string[]> = {
  [CpuMode.Bits16]: ['-m', 'i8086', '-M', 'intel'],
  [CpuMode.Bits32]: ['-m', 'i386', '-M', 'intel'],
  // intel64: Intel's 64-bit behaviour (66 ignored on near branches), which tsemu implements.
  [CpuMode.Bits64]: ['-m', 'i386:x86-64', '-M', 'intel,intel64'],
};

interface ObjdumpLine { length: number; text: string }

function runObjdump(mode: CpuMode, code: Uint8Array): Map<number, ObjdumpLine> {
  const dir = mkdtempSync(join(tmpdir(), 'tsemu-objdump-'));
  try {
    const file = join(dir, 'code.bin');
    writeFileSync(file, code);
    const out = execFileSync(OBJDUMP_BIN, ['-D', '-b', 'binary', ...MACHINE[mode], '--insn-width=16', file], {
      encoding: 'utf8', maxBuffer: 256 * 1024 * 1024,
    });
    const lines = new Map<number, ObjdumpLine>();
    for (const line of out.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t?(.*)$/.exec(line);
      if (!m) continue;
      lines.set(parseInt(m[1], 16), { length: m[2].trim().split(' ').length, text: normalise(m[3]) });
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our one normalisation: whitespace runs collapse to one space (objdump pads columns). */
function normalise(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

/**
 * Accepted objdump quirks (text only; lengths must always match). Each rewrites objdump's text
 * into what tsemu prints; the comparison is then exact.
 */
const QUIRKS: [RegExp, (m: string, ...groups: string[]) => string][] = [
  // With a 66 or 67 prefix in 64-bit mode binutils prints a negative RIP/EIP displacement as
  // a 64-bit unsigned number ([rip+0xffffffffb504af7b]); tsemu prints it signed.
  [/\[(rip|eip)\+0x(ffffffff[0-9a-f]{8})\]/, (_m, ip, v) => `[${ip}-0x${(2n ** 64n - BigInt('0x' + v)).toString(16)}]`],
  // binutils does not wrap EIP-relative targets (67 in 64-bit mode) to 32 bits; the CPU does.
  [/(\[eip[^\]]*\].*# )0xffffffff([0-9a-f]{8})$/, (_m, head, low) => `${head}0x${low.replace(/^0+(?=.)/, '')}`],
];

function applyQuirks(mode: CpuMode, theirs: string): string {
  let text = theirs;
  // CET: binutils names a 3E prefix on indirect CALL/JMP 'notrack'; on the CPUs tsemu models it
  // is a plain DS override (shown in the operand, or as a 'ds' prefix in 64-bit mode).
  // A 66-prefixed short branch in 32-bit code truncates EIP to 16 bits; binutils prints the
  // untruncated target ('data16 jmp 0x1588a'), tsemu the address the CPU jumps to.
  const data16Jb = /^((?:[a-z0-9]+ )*(?:j\w+|loop\w*)) 0x([0-9a-f]+)$/.exec(text);
  if (mode === CpuMode.Bits32 && data16Jb && text.includes('data16 ')) text = `${data16Jb[1]} 0x${(parseInt(data16Jb[2], 16) & 0xffff).toString(16)}`;
  if (text.startsWith('notrack ')) {
    text = text.slice('notrack '.length);
    if (mode === CpuMode.Bits64) text = 'ds ' + text;
    else if (!text.includes('ds:')) text = text.replace('[', 'ds:[');
    if (mode !== CpuMode.Bits64 && !text.includes('ds:')) text = 'ds ' + text;
  }
  for (const [re, fix] of QUIRKS) text = text.replace(re, fix as (m: string) => string);
  // SALC (D6) is undocumented: binutils has no name for it.
  if (text === '(bad)' && mode !== CpuMode.Bits64) text = 'salc';
  return text;
}

function check(mode: CpuMode, seed: number): { checked: number; failures: string[] } {
  const gen: Generated[] = generate(mode, PER_ENTRY, seed);
  const code = Uint8Array.from(gen.flatMap((g) => g.bytes));
  const theirs = runObjdump(mode, code);
  const failures: string[] = [];
  for (const g of gen) {
    const hexBytes = g.bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const t = theirs.get(g.offset);
    if (t === undefined) {
      failures.push(`${mode}-bit @${g.offset.toString(16)} [${hexBytes}] ${g.entry.key}: objdump has no instruction here (desync)`);
      continue;
    }
    const ours = normalise(g.text);
    if (t.length !== g.bytes.length) {
      failures.push(`${mode}-bit [${hexBytes}] ${g.entry.key}: length ${g.bytes.length} vs objdump ${t.length} ('${t.text}')`);
    } else if (ours !== t.text && ours !== applyQuirks(mode, t.text)) {
      failures.push(`${mode}-bit [${hexBytes}] ${g.entry.key}: '${ours}' vs objdump '${t.text}'`);
    }
  }
  return { checked: gen.length, failures };
}

describe('decoder and disassembler agree with GNU objdump', () => {
  if (!HAVE_OBJDUMP) {
    it('objdump is available (required in CI)', () => {
      if (process.env.CI === 'true') throw new Error(`objdump not found at ${OBJDUMP}; install binutils`);
      console.warn(`skipping objdump oracle: ${OBJDUMP} not found`);
    });
    return;
  }
  for (const mode of [CpuMode.Bits16, CpuMode.Bits32, CpuMode.Bits64]) {
    it(`every table entry in ${mode}-bit mode decodes to objdump's length and text`, () => {
      const { checked, failures } = check(mode, SEED + mode);
      if (process.env.ORACLE_DUMP) writeFileSync(`${process.env.ORACLE_DUMP}.${mode}`, failures.join('\n'));
      console.log(`objdump oracle: ${checked} encodings checked in ${mode}-bit mode`);
      expect(checked).toBeGreaterThan(6500);
      expect(failures.slice(0, 40)).toEqual([]);
    });
  }
});
