// CMPXCHG, XADD and CMPXCHG8B in 64-bit mode against the real CPU: every operand size,
// register and memory destinations (with LOCK on the memory forms), comparisons that succeed
// and fail, and registers with random upper halves, so the zero-extension rules of 32-bit
// destinations and accumulators are compared too. CMPXCHG16B (REX.W 0F C7 /1) is #UD on the
// software CPU (no CX16 in its CPUID) and is not compared: the host CPU has it.
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA, modrm, Rng, rex, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';

const SIZES = [8, 16, 32, 64] as const;
type Size = (typeof SIZES)[number];
const RAX = 0, RDX = 2;
const BASE = 7;

function register(rng: Rng): number {
  for (;;) {
    const n = rng.int(16);
    if (n !== 4 && n !== BASE) return n;
  }
}

function le64(v: bigint): number[] {
  return Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
}

function makeCase(rng: Rng, size: Size): Case {
  const which = rng.int(5);
  const gpr = rng.gprs();
  gpr[BASE] = BigInt(DATA + 0x40);
  const memValue = rng.value();
  const data = new Uint8Array(0x100);
  data.set(le64(memValue), 0x50);
  data.set(le64(rng.value()), 0x58);
  if (which === 4) {
    // CMPXCHG8B [rdi + 0x10]: EDX:EAX equal to memory half the time.
    if (rng.int(2)) {
      gpr[RAX] = (rng.u64() & 0xffffffff00000000n) | (memValue & 0xffffffffn);
      gpr[RDX] = (rng.u64() & 0xffffffff00000000n) | (memValue >> 32n);
    }
    const lock = rng.int(2) ? [0xf0] : [];
    return { name: 'cmpxchg8b', code: [...lock, 0x0f, 0xc7, modrm(1, 1, BASE), 0x10], gpr, flags: rng.flags(), data };
  }
  const mem = rng.int(2) === 0;
  const reg = register(rng);
  const rm = register(rng);
  const xadd = which >= 2;
  const opcode = [0x0f, (xadd ? 0xc0 : 0xb0) + (size === 8 ? 0 : 1)];
  const out: number[] = [];
  if (mem && rng.int(2)) out.push(0xf0);
  if (size === 16) out.push(0x66);
  const rmN = mem ? BASE : rm;
  if (size === 64 || reg >= 8 || rmN >= 8 || rng.int(2)) out.push(rex(size === 64, reg, 0, rmN));
  out.push(...opcode, mem ? modrm(1, reg, BASE) : modrm(3, reg, rm));
  if (mem) out.push(0x10);
  // CMPXCHG: make the accumulator equal to the destination half the time.
  if (!xadd && rng.int(2)) {
    const mask = (1n << BigInt(size)) - 1n;
    const dest = mem ? memValue : gpr[rm];
    gpr[RAX] = (gpr[RAX] & ~mask) | (dest & mask);
  }
  return { name: `${xadd ? 'xadd' : 'cmpxchg'}${size}${mem ? ' mem' : ''}`, code: out, gpr, flags: rng.flags(), data };
}

describe.skipIf(!kvmUsable())('64-bit mode CMPXCHG, XADD and CMPXCHG8B against the real CPU', () => {
  it('match the hardware in registers, flags and memory', () => {
    const diff = Soft64VsCpu.open();
    const rng = new Rng(0x61746f6d);
    try {
      for (let i = 0; i < 4000; i++) diff.compare(makeCase(rng, SIZES[i & 3]));
    } finally {
      diff.close();
    }
    expect(diff.mismatches).toEqual([]);
    expect(diff.compared).toBe(4000);
  });
});
