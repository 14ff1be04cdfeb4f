// The interpreter's shifts, rotates and bit operations against the real CPU: results and the
// six arithmetic flags on edge and pseudo-random operands with every count 0-31 and several
// incoming flag states. What the SDM leaves undefined (OF for counts above 1, AF, CF when
// SHL/SHR shift the whole operand out, the flags BT/BSF/BSR do not define, BSF/BSR's
// destination for a zero source, 16-bit SHLD/SHRD past 16, BSWAP r16) is compared only on an
// Intel host: tsemu follows Intel's values there, AMD computes others (undefined-flags.ts). The same
// instruction bytes (register forms, which mean the same in 32-bit and 64-bit mode without
// REX) run natively at CPL3 under KVM and, one step each, on a SoftCpu in flat 32-bit
// protected mode, so the handlers are tested with their operand decoding and write-back.
import { describe, expect, it } from 'vitest';
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { ARITH_FLAGS, EFLAGS_FIXED } from '../../packages/core-cpu/src/alu/lazy-flags.js';
import { PagedLinearMemory } from '../../packages/core-cpu/src/interp/paged-memory.js';
import { SoftCpu } from '../../packages/core-cpu/src/interp/soft-cpu.js';
import { Mmu } from '../../packages/core-cpu/src/mmu/mmu.js';
import { Seg } from '../../packages/core-cpu/src/state/segment-cache.js';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA_BASE, KvmUserSandbox } from './kvm-user-sandbox.js';
import {
  BIT_SCAN_UNDEFINED, BIT_TEST_UNDEFINED, comparedFlags, doubleShiftUndefined, group2Undefined, HOST_MATCHES_UNDEFINED,
  GROUP2, noteUndefinedOnce,
} from './undefined-flags.js';

/** Incoming flag states: none, all six, and two mixed ones (CF matters to RCL/RCR). */
const FLAGS_IN = [0, ARITH_FLAGS, 0x0801 | 0x0010, 0x00c4];

function prefix(size: number): number[] {
  return size === 2 ? [0x66] : [];
}

/** Edge values (0, 1, sign bit and neighbours, all ones, alternating bits) and pseudo-random ones. */
function values(size: number, random: number): number[] {
  const bits = size * 8;
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const sign = 2 ** (bits - 1);
  const out = [0, 1, 2, sign - 1, sign, sign + 1, max - 1, max, (0xaaaaaaaa & max) >>> 0, 0x55555555 & max];
  let seed = 0x2545f491 ^ size;
  for (let i = 0; i < random; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out.push(((seed ^ (seed >>> 13)) >>> 0) % (max + 1));
  }
  return out;
}

/** What the SDM leaves undefined in one case: these flags, and whether the destination's value is undefined too. */
interface Undefined {
  flags: number;
  result: boolean;
}

/** Group 2 never leaves the result undefined, only flags; `count` is the masked count (count & 31). */
const group2 = (op: number, size: number, count: number): Undefined => ({ flags: group2Undefined(GROUP2[op], size * 8, count), result: false });
/** BT, BTS, BTR, BTC: the bit (CF) and the written operand are defined. */
const BIT_TEST: Undefined = { flags: BIT_TEST_UNDEFINED, result: false };
/** BSF, BSR: "If the content of the source operand is 0, the content of the destination operand is undefined" (SDM). */
const bitScan = (src: number): Undefined => ({ flags: BIT_SCAN_UNDEFINED, result: src === 0 });
/** BSWAP changes no flag; "when the BSWAP instruction references a 16-bit register, the result is undefined" (SDM). */
const bswap = (size: number): Undefined => ({ flags: 0, result: size === 2 });

const CODE = 0x1000;
/** The sandbox's data area, mapped at the same address in the SoftCpu's flat memory. */
const DATA = Number(DATA_BASE);
const WINDOW = 0x1000;
/** Where in the window the memory forms' operand is ([edx + 0x800]). */
const OPERAND = 0x800;
const RAM = DATA + WINDOW;

/** A SoftCpu in flat 32-bit protected mode (CS.D, 4 GiB segments, ring 0), RAM up to the data window. */
function flat32Cpu(): { cpu: SoftCpu; memory: GuestMemory } {
  const memory = new GuestMemory(createSharedRamBacking(RAM), [{ gpa: 0, size: RAM, offset: 0 }]);
  const cpu = new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus());
  const s = resetCpuState();
  s.cs = { ...s.cs, selector: 0, base: 0n };
  cpu.regs.load(s);
  const r = cpu.regs;
  r.cr0 |= 1;
  r.seg.attr[Seg.CS] |= 0x4000;
  for (const seg of [Seg.CS, Seg.ES, Seg.DS, Seg.SS]) {
    r.seg.base[seg] = 0;
    r.seg.limit[seg] = 0xffffffff;
  }
  return { cpu, memory };
}

class Comparison {
  compared = 0;
  readonly mismatches: string[] = [];
  private readonly soft = flat32Cpu();

  constructor(private readonly sandbox: KvmUserSandbox) {
    noteUndefinedOnce();
  }

  /**
   * Runs `code` with eax = a, ebx = b, ecx = c and the given arithmetic flags on the real CPU and
   * on the SoftCpu; records a mismatch in eax (masked to `size` bytes) or the six flags. On a
   * host that is not Intel's, what `undef` names is left out: those flags, and eax if its value is.
   */
  compare(what: string, code: number[], size: number, a: number, b: number, c: number, flagsIn: number, undef: Undefined): void {
    const gpr = new Array<bigint>(16).fill(0n);
    gpr[0] = BigInt(a >>> 0);
    gpr[1] = BigInt(c >>> 0);
    gpr[3] = BigInt(b >>> 0);
    const hw = this.sandbox.run({ code: Uint8Array.from(code), gpr, rflags: BigInt(EFLAGS_FIXED | flagsIn) });
    expect(hw.exception).toBeNull();
    const mask = size === 4 ? 0xffffffff : (1 << (size * 8)) - 1;
    const wantValue = Number(hw.gpr[0] & 0xffffffffn) & mask;
    const flags = comparedFlags(undef.flags);
    const wantFlags = Number(hw.rflags) & flags;

    const { cpu, memory } = this.soft;
    const r = cpu.regs;
    memory.writeBytes(CODE, Uint8Array.from(code));
    r.rip = CODE;
    r.gpr.r32[0] = a;
    r.gpr.r32[1] = c;
    r.gpr.r32[3] = b;
    r.flags.set(EFLAGS_FIXED | flagsIn);
    cpu.lastException = -1;
    cpu.step();
    expect(cpu.lastException).toBe(-1);
    const gotValue = r.gpr.r32[0] & mask;
    const gotFlags = r.flags.get() & flags;
    const skipValue = undef.result && !HOST_MATCHES_UNDEFINED;

    this.compared++;
    if ((!skipValue && (wantValue >>> 0) !== (gotValue >>> 0)) || wantFlags !== gotFlags) {
      this.mismatches.push(`${what}: tsemu 0x${(gotValue >>> 0).toString(16)} flags 0x${gotFlags.toString(16)}, hardware 0x${(wantValue >>> 0).toString(16)} flags 0x${wantFlags.toString(16)}`);
    }
  }

  /**
   * A memory form: edx = the data window (filled with `data`), ebx = b, ecx = c; records a
   * mismatch in the window's bytes or the six flags. On a host that is not Intel's, what `undef`
   * names is left out: those flags, and the `size` bytes of the operand at OPERAND if its value is.
   */
  compareMemory(what: string, code: number[], size: number, data: Uint8Array, b: number, c: number, flagsIn: number, undef: Undefined): void {
    const gpr = new Array<bigint>(16).fill(0n);
    gpr[1] = BigInt(c >>> 0);
    gpr[2] = DATA_BASE;
    gpr[3] = BigInt(b >>> 0);
    const hw = this.sandbox.run({ code: Uint8Array.from(code), gpr, rflags: BigInt(EFLAGS_FIXED | flagsIn), data });
    expect(hw.exception).toBeNull();
    const flags = comparedFlags(undef.flags);
    const wantFlags = Number(hw.rflags) & flags;

    const { cpu, memory } = this.soft;
    const r = cpu.regs;
    memory.writeBytes(CODE, Uint8Array.from(code));
    memory.writeBytes(DATA, data);
    r.rip = CODE;
    r.gpr.r32[1] = c;
    r.gpr.r32[2] = DATA;
    r.gpr.r32[3] = b;
    r.flags.set(EFLAGS_FIXED | flagsIn);
    cpu.lastException = -1;
    cpu.step();
    expect(cpu.lastException).toBe(-1);
    const gotFlags = r.flags.get() & flags;
    // The rest of the window must stay as it was on every host.
    const skip = undef.result && !HOST_MATCHES_UNDEFINED ? size : 0;

    this.compared++;
    for (let i = 0; i < WINDOW; i++) {
      if (i >= OPERAND && i < OPERAND + skip) continue;
      const got = memory.read8(DATA + i);
      if (got !== hw.data[i]) {
        this.mismatches.push(`${what}: byte +0x${i.toString(16)} tsemu 0x${got.toString(16)}, hardware 0x${hw.data[i].toString(16)}`);
        return;
      }
    }
    if (wantFlags !== gotFlags) this.mismatches.push(`${what}: tsemu flags 0x${gotFlags.toString(16)}, hardware 0x${wantFlags.toString(16)}`);
  }
}

/** The group-2 encoding of `op` on al/ax/eax: by CL, by an immediate, or by 1 (D0/D1). */
function group2Code(op: number, size: number, form: 'CL' | 'Ib' | '1', count: number): number[] {
  const modrm = 0xc0 | (op << 3);
  const w = size === 1 ? 0 : 1;
  if (form === 'CL') return [...prefix(size), 0xd2 | w, modrm];
  if (form === '1') return [...prefix(size), 0xd0 | w, modrm];
  return [...prefix(size), 0xc0 | w, modrm, count];
}

describe.skipIf(!kvmUsable())('shifts, rotates and bit operations against the real CPU', () => {
  it('match the hardware for every group-2 operation, size and count 0-31 (CL, Ib and 1 forms)', () => {
    const sandbox = KvmUserSandbox.open();
    const cmp = new Comparison(sandbox);
    try {
      for (let op = 0; op < 8; op++) {
        for (const size of [1, 2, 4]) {
          for (const v of values(size, 4)) {
            for (let count = 0; count < 32; count++) {
              for (let i = 0; i < FLAGS_IN.length; i++) {
                const flagsIn = FLAGS_IN[i];
                // Counts above 31 show the 5-bit mask; the forms alternate between flag states.
                const raw = count | (i & 1 ? 0xe0 : 0x20);
                const form = count === 1 && i === 3 ? '1' : i & 1 ? 'Ib' : 'CL';
                const code = group2Code(op, size, form, raw);
                cmp.compare(`${GROUP2[op]}${size * 8} 0x${v.toString(16)}, ${raw} (${form}) flags-in 0x${flagsIn.toString(16)}`, code, size, v, 0, raw, flagsIn, group2(op, size, raw & 31));
              }
            }
          }
        }
      }
    } finally {
      sandbox.close();
    }
    expect(cmp.mismatches.slice(0, 20)).toEqual([]);
    expect(cmp.compared).toBe(8 * 3 * 14 * 32 * FLAGS_IN.length);
  });

  it('match the hardware for SHLD and SHRD at 16 and 32 bits, every count 0-31', () => {
    const sandbox = KvmUserSandbox.open();
    const cmp = new Comparison(sandbox);
    try {
      for (const left of [true, false]) {
        for (const size of [2, 4]) {
          const vs = values(size, 3);
          for (let i = 0; i < vs.length; i++) {
            const d = vs[i];
            const s = vs[(i * 7 + 3) % vs.length];
            for (let count = 0; count < 32; count++) {
              for (const flagsIn of [0, ARITH_FLAGS]) {
                // shld/shrd eax, ebx, cl -- or the imm8 form for the second flag state
                const code = flagsIn
                  ? [...prefix(size), 0x0f, left ? 0xa4 : 0xac, 0xd8, count | 0x40]
                  : [...prefix(size), 0x0f, left ? 0xa5 : 0xad, 0xd8];
                cmp.compare(`${left ? 'shld' : 'shrd'}${size * 8} 0x${d.toString(16)}, 0x${s.toString(16)}, ${count} flags-in 0x${flagsIn.toString(16)}`, code, size, d, s, count, flagsIn, doubleShiftUndefined(size * 8, count & 31));
              }
            }
          }
        }
      }
    } finally {
      sandbox.close();
    }
    expect(cmp.mismatches.slice(0, 20)).toEqual([]);
    expect(cmp.compared).toBe(2 * 2 * 13 * 32 * 2);
  });

  it('match the hardware for BT/BTS/BTR/BTC, BSF/BSR and BSWAP with their undefined flags', () => {
    const sandbox = KvmUserSandbox.open();
    const cmp = new Comparison(sandbox);
    try {
      for (const size of [2, 4]) {
        const width = size * 8;
        for (let op = 0; op < 4; op++) {
          for (const v of values(size, 2)) {
            for (const bit of [0, 1, width - 1, width, width + 5, 0xffff]) {
              for (let i = 0; i < FLAGS_IN.length; i++) {
                // bt* eax, ebx; or bt* eax, imm8 (0F BA /4-/7) for odd flag states
                const code = i & 1
                  ? [...prefix(size), 0x0f, 0xba, 0xe0 | (op << 3), bit & 0xff]
                  : [...prefix(size), 0x0f, [0xa3, 0xab, 0xb3, 0xbb][op], 0xd8];
                cmp.compare(`bt/${op} ${width} 0x${v.toString(16)} bit ${bit} flags-in 0x${FLAGS_IN[i].toString(16)}`, code, size, v, bit, 0, FLAGS_IN[i], BIT_TEST);
              }
            }
          }
        }
        for (const forward of [true, false]) {
          const code = [...prefix(size), 0x0f, forward ? 0xbc : 0xbd, 0xc3]; // bsf/bsr eax, ebx
          for (const src of values(size, 6)) {
            for (const flagsIn of FLAGS_IN) {
              cmp.compare(`${forward ? 'bsf' : 'bsr'}${width} 0x${src.toString(16)} flags-in 0x${flagsIn.toString(16)}`, code, size, 0x1234abcd, src, 0, flagsIn, bitScan(src));
            }
          }
        }
        for (const v of values(size, 4)) {
          for (const flagsIn of [0, ARITH_FLAGS]) {
            cmp.compare(`bswap${width} 0x${v.toString(16)}`, [...prefix(size), 0x0f, 0xc8], size, v, 0, 0, flagsIn, bswap(size));
          }
        }
      }
    } finally {
      sandbox.close();
    }
    expect(cmp.mismatches.slice(0, 20)).toEqual([]);
    expect(cmp.compared).toBe(2 * (4 * 12 * 6 * FLAGS_IN.length + 2 * 16 * FLAGS_IN.length + 14 * 2));
  });

  it('match the hardware for memory operands: group 2 by imm8 and CL, SHLD/SHRD, and BT* bit strings', () => {
    const sandbox = KvmUserSandbox.open();
    const cmp = new Comparison(sandbox);
    const data = new Uint8Array(WINDOW);
    let seed = 0x1234567;
    for (let i = 0; i < WINDOW; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      data[i] = seed >>> 24;
    }
    try {
      // op [edx + OPERAND], imm8 / cl (ModRM mod=2 rm=2, disp32)
      const disp = [OPERAND & 0xff, OPERAND >> 8, 0x00, 0x00];
      for (let op = 0; op < 8; op++) {
        for (const size of [1, 2, 4]) {
          const w = size === 1 ? 0 : 1;
          for (const count of [0, 1, 2, 7, 8, 9, 15, 16, 17, 31]) {
            for (const flagsIn of [0, ARITH_FLAGS]) {
              const modrm = 0x82 | (op << 3);
              const undef = group2(op, size, count & 31);
              cmp.compareMemory(`${GROUP2[op]}${size * 8} [mem], ${count} (Ib)`, [...prefix(size), 0xc0 | w, modrm, ...disp, count], size, data, 0, 0, flagsIn, undef);
              cmp.compareMemory(`${GROUP2[op]}${size * 8} [mem], ${count} (CL)`, [...prefix(size), 0xd2 | w, modrm, ...disp], size, data, 0, count, flagsIn, undef);
            }
          }
        }
      }
      for (const size of [2, 4]) {
        for (const opcode of [0xa4, 0xa5, 0xac, 0xad]) {
          for (const count of [1, 4, 17, 31]) {
            const imm = opcode & 1 ? [] : [count];
            cmp.compareMemory(`0f ${opcode.toString(16)} /${size * 8} [mem], ebx, ${count}`, [...prefix(size), 0x0f, opcode, 0x9a, ...disp, ...imm], size, data, 0x9abcdef0, count, ARITH_FLAGS, doubleShiftUndefined(size * 8, count & 31));
          }
        }
        // bt* [edx + OPERAND], ebx with bit offsets that reach below and above the operand
        for (const opcode of [0xa3, 0xab, 0xb3, 0xbb]) {
          for (const bit of [0, 5, 31, 32, 1000, -1, -33, -1000, 0x3fff, -0x4000]) {
            const b = size === 2 ? bit & 0xffff : bit;
            cmp.compareMemory(`0f ${opcode.toString(16)} /${size * 8} [mem], ${bit}`, [...prefix(size), 0x0f, opcode, 0x9a, ...disp], size, data, b, 0, ARITH_FLAGS, BIT_TEST);
          }
        }
        for (const reg of [4, 5, 6, 7]) {
          for (const bit of [3, 33, 255]) {
            cmp.compareMemory(`0f ba /${reg} /${size * 8} [mem], ${bit}`, [...prefix(size), 0x0f, 0xba, 0x82 | (reg << 3), ...disp, bit], size, data, 0, 0, 0, BIT_TEST);
          }
        }
      }
    } finally {
      sandbox.close();
    }
    expect(cmp.mismatches.slice(0, 20)).toEqual([]);
    expect(cmp.compared).toBe(8 * 3 * 10 * 2 * 2 + 2 * (4 * 4 + 4 * 10 + 4 * 3));
  });
});
