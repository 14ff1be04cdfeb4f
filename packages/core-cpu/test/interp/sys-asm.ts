/**
 * Test support for the system-architecture tests (task switches, virtual-8086 mode, segment
 * checks, debug traps): assembles NASM source to flat bytes at a given origin, and writes
 * TSS images. Tests that need nasm are skipped by their callers when it is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestMemory } from '@tsemu/devices/platform';

export const haveNasm = spawnSync('nasm', ['-v']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'tsemu-sys-asm-'));
let n = 0;

/** Assembles `source` (NASM syntax, `bits` given) with `org origin`; returns its bytes. */
export function asm(source: string, origin: number, bits: 16 | 32 = 32): number[] {
  const src = join(dir, `t${n}.asm`);
  const out = join(dir, `t${n++}.bin`);
  writeFileSync(src, `bits ${bits}\norg ${origin}\n${source}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', out, src]);
  return [...readFileSync(out)];
}

export interface Tss32Image {
  cr3?: number; eip: number; eflags?: number; eax?: number; ecx?: number; esp: number;
  es?: number; cs: number; ss: number; ds?: number; fs?: number; gs?: number; ldt?: number;
  esp0?: number; ss0?: number; ioMapBase?: number;
}

/** Writes a 32-bit TSS (SDM Vol. 3, Figure 7-2) at `at`. */
export function writeTss32(memory: GuestMemory, at: number, t: Tss32Image): void {
  for (let i = 0; i < 0x68; i += 4) memory.write32(at + i, 0);
  memory.write32(at + 0x04, t.esp0 ?? 0);
  memory.write32(at + 0x08, t.ss0 ?? 0);
  memory.write32(at + 0x1c, t.cr3 ?? 0);
  memory.write32(at + 0x20, t.eip);
  memory.write32(at + 0x24, t.eflags ?? 2);
  memory.write32(at + 0x28, t.eax ?? 0);
  memory.write32(at + 0x2c, t.ecx ?? 0);
  memory.write32(at + 0x38, t.esp);
  memory.write16(at + 0x48, t.es ?? 0);
  memory.write16(at + 0x4c, t.cs);
  memory.write16(at + 0x50, t.ss);
  memory.write16(at + 0x54, t.ds ?? 0);
  memory.write16(at + 0x58, t.fs ?? 0);
  memory.write16(at + 0x5c, t.gs ?? 0);
  memory.write16(at + 0x60, t.ldt ?? 0);
  memory.write16(at + 0x66, t.ioMapBase ?? 0x68);
}
