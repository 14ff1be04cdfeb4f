// Test support for the x87 handler tests: hand-assembled x87 bytes and a runner on the shared
// test machine (real mode with a halting IVT, or flat 32-bit protected mode).
import { Float80, loadFloat80 } from '../../src/fpu/float80.js';
import { fromNumber, toNumber } from '../../src/fpu/convert.js';
import type { SoftCpu } from '../../src/interp/soft-cpu.js';
import { CODE, testCpu, type TestCpu } from './test-machine.js';

export const DATA = 0x2000;
export const BX = 3;

export const FNINIT = [0xdb, 0xe3];
export const FNCLEX = [0xdb, 0xe2];
export const FLD1 = [0xd9, 0xe8];
export const FLDZ = [0xd9, 0xee];
export const FLDPI = [0xd9, 0xeb];
export const FWAIT = [0x9b];
export const FNSTSW_AX = [0xdf, 0xe0];
/** [ebx + disp8] (32-bit addressing) with ModRM.reg = reg. */
export const m32 = (op: number, reg: number, disp = 0): number[] => [op, 0x43 | (reg << 3), disp];
/** [bx + disp8] (16-bit addressing) with ModRM.reg = reg. */
export const m16 = (op: number, reg: number, disp = 0): number[] => [op, 0x47 | (reg << 3), disp];

export interface X87Run extends TestCpu {
  /** Status word (TOP included). */
  sw: number;
}

export interface RunOptions {
  flat32?: boolean;
  /** Extra CR0 bits (NE, EM, TS, MP) set before the first instruction. */
  cr0?: number;
  /** Data bytes placed at DATA. */
  data?: number[];
  setup?: (cpu: SoftCpu) => void;
  /** Instructions to run at most (default: until HLT). */
  steps?: number;
}

/** Runs `code` (a HLT is appended) with EBX = DATA. Exceptions go to HLT stubs (real mode). */
export function runX87(code: number[], options: RunOptions = {}): X87Run {
  const t = testCpu([...code, 0xf4], { flat32: options.flat32, haltingIvt: !options.flat32 });
  const { cpu, memory } = t;
  if (options.data) memory.writeBytes(DATA, Uint8Array.from(options.data));
  cpu.regs.gpr.r32[BX] = DATA;
  cpu.regs.cr0 |= options.cr0 ?? 0;
  cpu.regs.fpu.init();
  options.setup?.(cpu);
  const limit = options.steps ?? 200;
  for (let n = 0; n < limit && !cpu.halted; n++) cpu.step();
  return { ...t, sw: cpu.regs.fpu.statusWord() };
}

/** The 80-bit value at a guest address, as a JS number. */
export function read80(t: TestCpu, at: number): number {
  return toNumber(loadFloat80(t.memory.bytes, at, new Float80()));
}

/** The 10 bytes of an extended value for the data area. */
export function bytes80(x: number): number[] {
  const v = fromNumber(x, new Float80());
  const b = new Uint8Array(10);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, v.lo, true);
  dv.setUint32(4, v.hi, true);
  dv.setUint16(8, v.se, true);
  return [...b];
}

/** Where the code starts (FIP checks). */
export { CODE };
