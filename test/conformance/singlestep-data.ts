// Test support: the SingleStepTests 80286 real-mode subset in ../shared/data (see its README).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const SINGLESTEP_DIR = fileURLToPath(new URL('../../../shared/data/singlestep-80286/', import.meta.url));

export interface Regs16 {
  ax: number; bx: number; cx: number; dx: number; cs: number; ss: number; ds: number; es: number;
  sp: number; bp: number; si: number; di: number; ip: number; flags: number;
}

export interface SingleStepCase {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Regs16; ram: [number, number][] };
  final: { regs: Partial<Regs16>; ram: [number, number][] };
  exception?: { number: number; flag_address: number };
  hash: string;
}

interface OpcodeMeta {
  status: string;
  'flags-mask'?: number;
  /** Per-/digit metadata for group opcodes (80-83, F6, F7, FE, FF ...). */
  reg?: Record<string, OpcodeMeta>;
}

export function singleStepAvailable(): boolean {
  return existsSync(join(SINGLESTEP_DIR, 'metadata.json'));
}

/** Opcode file keys ("00", "F6.5", ...) with their metadata. */
export function opcodeFiles(): { key: string; file: string; meta: OpcodeMeta }[] {
  const metadata = JSON.parse(readFileSync(join(SINGLESTEP_DIR, 'metadata.json'), 'utf8')) as { opcodes: Record<string, OpcodeMeta> };
  const dir = join(SINGLESTEP_DIR, 'v1_real_mode');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((file) => {
      const key = file.replace('.json.gz', '');
      const [op, reg] = key.split('.');
      const meta = metadata.opcodes[op]?.reg?.[reg] ?? metadata.opcodes[op] ?? { status: 'unknown' };
      return { key, file: join(dir, file), meta };
    });
}

export function loadCases(file: string): SingleStepCase[] {
  return JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as SingleStepCase[];
}

export function revokedHashes(): Set<string> {
  const text = readFileSync(join(SINGLESTEP_DIR, 'revocation_list.txt'), 'utf8');
  return new Set(text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
}
