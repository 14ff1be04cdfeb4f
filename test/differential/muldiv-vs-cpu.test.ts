// Multiply, divide and decimal adjust: the software CPU's handlers against the real CPU.
//
// MUL, IMUL (all forms), DIV, IDIV at 8/16/32-bit operand size run natively at CPL3 under KVM
// on edge-case and pseudo-random operands and input flags. Register operands (rm = EBX) encode
// the same operation in 64-bit mode as in 32-bit mode, so one encoding drives both. Compared:
// EAX, EDX, the arithmetic flags and #DE, with the flags left as they were at the fault. The
// flags the SDM leaves undefined (SF ZF AF PF after MUL/IMUL, all six after DIV/IDIV) are
// compared only on an Intel host: tsemu follows Intel's values there (handlers/muldiv.ts), AMD
// computes others (undefined-flags.ts).
//
// DAA, DAS, AAA, AAS, AAM, AAD do not exist in 64-bit mode and this host's KVM runs no
// compatibility-mode code, so they run in a tiny native 32-bit Linux process instead (a
// hand-built ELF32 that loops over every AL value and flag input and writes EAX and EFLAGS
// after each); that test skips where the host cannot run 32-bit processes. It too compares
// each adjust's undefined flags only on an Intel host.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { describe, expect, it } from 'vitest';
import { decode } from '../../packages/core-cpu/src/decoder/decoder.js';
import { CpuMode, DecodeStatus } from '../../packages/core-cpu/src/decoder/instruction.js';
import { CpuFault } from '../../packages/core-cpu/src/interp/faults.js';
import { DISPATCH } from '../../packages/core-cpu/src/interp/handlers/index.js';
import { PagedLinearMemory } from '../../packages/core-cpu/src/interp/paged-memory.js';
import { Mmu } from '../../packages/core-cpu/src/mmu/mmu.js';
import { SoftCpu } from '../../packages/core-cpu/src/interp/soft-cpu.js';
import { kvmUsable } from '../support/tsemu-process.js';
import { KvmUserSandbox } from './kvm-user-sandbox.js';
import { BCD_UNDEFINED, comparedFlags, DIV_UNDEFINED, MUL_UNDEFINED, noteUndefinedOnce } from './undefined-flags.js';

const ARITH = 0x8d5;
const RAX = 0;
const RDX = 2;
const RBX = 3;

interface Form {
  name: string;
  bits: 8 | 16 | 32;
  code: number[];
}

function forms(): Form[] {
  const out: Form[] = [];
  for (const bits of [8, 16, 32] as const) {
    const p = bits === 16 ? [0x66] : [];
    const op = bits === 8 ? 0xf6 : 0xf7;
    for (const [name, modrm] of [['mul', 0xe3], ['imul', 0xeb], ['div', 0xf3], ['idiv', 0xfb]] as const) {
      out.push({ name: `${name}${bits}`, bits, code: [...p, op, modrm] });
    }
    if (bits === 8) continue;
    out.push({ name: `imul${bits} r,rm`, bits, code: [...p, 0x0f, 0xaf, 0xc3] });
    const imm = bits === 16 ? [0x85, 0x9c] : [0x85, 0x9c, 0x01, 0x80];
    out.push({ name: `imul${bits} r,rm,iz`, bits, code: [...p, 0x69, 0xc3, ...imm] });
    out.push({ name: `imul${bits} r,rm,iz+`, bits, code: [...p, 0x69, 0xc3, ...imm.map((_, i) => (i === imm.length - 1 ? 0x3f : 0x21))] });
    out.push({ name: `imul${bits} r,rm,ib`, bits, code: [...p, 0x6b, 0xc3, 0xf9] });
    out.push({ name: `imul${bits} r,rm,ib+`, bits, code: [...p, 0x6b, 0xc3, 0x77] });
  }
  return out;
}

/** Deterministic [rax, rdx, rbx, flags] tuples: edges, then pseudo-random values. */
function* inputs(bits: number, count: number): Generator<[number, number, number, number]> {
  const mask = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const sign = bits === 32 ? 0x80000000 : 1 << (bits - 1);
  const edges = [0, 1, 2, 7, sign - 1, sign, sign + 1, mask - 1, mask].map((v) => v >>> 0);
  let seed = 0x2545f491 ^ bits;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const flags = () => next() & ARITH;
  for (const a of edges) {
    for (const b of edges) {
      // The dividend's high part: zero, all ones (a sign extension) and a small value, so that
      // divisions both complete and overflow.
      for (const hi of [0, 0xffffffff, 3]) yield [bits === 8 ? ((hi & 0xff) << 8) | (a & 0xff) : a, hi, b, flags()];
    }
  }
  for (let i = 0; i < count; i++) {
    const shape = next() & 3;
    const hi = shape === 0 ? 0 : shape === 1 ? 0xffffffff : shape === 2 ? next() & 0xff : next();
    const a = next();
    yield [bits === 8 ? (a & 0xff) | ((hi & 0xff) << 8) | (a & 0xffff0000) : a, hi, next() >>> (next() & 31), flags()];
  }
}

/** A flat 32-bit protected-mode software CPU; faults come back as a vector instead of delivery. */
function softCpu() {
  const memory = new GuestMemory(createSharedRamBacking(0x10000), [{ gpa: 0, size: 0x10000, offset: 0 }]);
  const cpu = new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus());
  cpu.regs.cr0 = 1;
  for (let s = 0; s < 6; s++) cpu.regs.seg.limit[s] = -1;
  return cpu;
}

function runSoft(cpu: SoftCpu, code: number[]): number {
  const insn = cpu.insn;
  const status = decode({ fetch8: (i: number) => code[i] ?? 0x90 }, 0, CpuMode.Bits32, insn);
  if (status !== DecodeStatus.Ok) throw new Error(`decode failed: ${status}`);
  cpu.regs.rip = insn.length;
  try {
    DISPATCH[insn.entry.index](cpu, insn);
    return -1;
  } catch (e) {
    if (e instanceof CpuFault) return e.vector;
    throw e;
  }
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

describe.skipIf(!kvmUsable())('multiply and divide against the real CPU', () => {
  it('match the hardware in results, all six arithmetic flags and #DE', () => {
    const sandbox = KvmUserSandbox.open();
    const cpu = softCpu();
    const g = cpu.regs.gpr;
    let compared = 0;
    let faults = 0;
    noteUndefinedOnce();
    try {
      for (const form of forms()) {
        const code = Uint8Array.from(form.code);
        for (const [a, d, b, flagsIn] of inputs(form.bits, 400)) {
          const gpr = new Array<bigint>(16).fill(0n);
          gpr[RAX] = BigInt(a >>> 0);
          gpr[RDX] = BigInt(d >>> 0);
          gpr[RBX] = BigInt(b >>> 0);
          const hw = sandbox.run({ code, gpr, rflags: BigInt(flagsIn | 2) });
          g.r32.fill(0);
          g.hi.fill(0);
          g.r32[RAX] = a;
          g.r32[RDX] = d;
          g.r32[RBX] = b;
          cpu.regs.flags.set(flagsIn | 2);
          const vector = runSoft(cpu, form.code);
          const where = `${form.name} eax=${hex(a)} edx=${hex(d)} ebx=${hex(b)} flags=${hex(flagsIn)}`;
          expect(vector, where).toBe(hw.exception ? hw.exception.vector : -1);
          if (vector >= 0) faults++;
          expect(hex(g.r32[RAX]), `${where}: eax`).toBe(hex(Number(hw.gpr[RAX] & 0xffffffffn)));
          expect(hex(g.r32[RDX]), `${where}: edx`).toBe(hex(Number(hw.gpr[RDX] & 0xffffffffn)));
          // #DE writes no flag: they are the input ones, compared in full.
          const flags = comparedFlags(vector >= 0 ? 0 : /^i?div/.test(form.name) ? DIV_UNDEFINED : MUL_UNDEFINED);
          expect(hex(cpu.regs.flags.get() & flags), `${where}: flags`).toBe(hex(Number(hw.rflags) & flags));
          compared++;
        }
      }
    } finally {
      sandbox.close();
    }
    expect(compared).toBe(forms().length * (243 + 400));
    expect(faults).toBeGreaterThan(500);
  });
});

// ---- decimal adjust in a native 32-bit process

const ELF_BASE = 0x08048000;
const ELF_CODE = 0x54; // after the ELF header (52 bytes) and one program header (32)
const ELF_BUFFER = ELF_BASE + 0x10000;
/** Inputs: BL = AL, AH = AL ^ 0xA5; BH bit 0 = CF, bit 1 = AF, bit 2 = OF|SF|ZF|PF. */
const NATIVE_CASES = 0x800;

const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** i386 code: for each input, load AX and EFLAGS, run `op`, store EAX and EFLAGS; write; exit. */
function nativeProgram(op: number[]): number[] {
  const c: number[] = [0xbf, ...le32(ELF_BUFFER), 0x31, 0xdb]; // mov edi, buffer; xor ebx, ebx
  const loop = c.length;
  c.push(0x0f, 0xb6, 0xc7, 0x89, 0xc2, 0x83, 0xe2, 0x01); // movzx eax, bh; mov edx, eax; and edx, CF
  c.push(0xa8, 0x02, 0x74, 0x03, 0x83, 0xca, 0x10); // test al, 2; jz +3; or edx, AF
  c.push(0xa8, 0x04, 0x74, 0x06, 0x81, 0xca, ...le32(0x8c4)); // test al, 4; jz +6; or edx, OF|SF|ZF|PF
  c.push(0x88, 0xd8, 0x88, 0xdc, 0x80, 0xf4, 0xa5); // mov al, bl; mov ah, bl; xor ah, 0xa5
  c.push(0x52, 0x9d, ...op, 0x9c, 0x5a); // push edx; popfd; <op>; pushfd; pop edx
  c.push(0x89, 0x07, 0x89, 0x57, 0x04, 0x83, 0xc7, 0x08); // mov [edi], eax; mov [edi+4], edx; add edi, 8
  c.push(0x66, 0x43, 0x66, 0x81, 0xfb, ...le32(NATIVE_CASES).slice(0, 2)); // inc bx; cmp bx, cases
  c.push(0x72, (loop - (c.length + 2)) & 0xff); // jb loop
  c.push(0xb8, ...le32(4), 0xbb, ...le32(1), 0xb9, ...le32(ELF_BUFFER), 0xba, ...le32(NATIVE_CASES * 8), 0xcd, 0x80); // write
  c.push(0xb8, ...le32(1), 0x31, 0xdb, 0xcd, 0x80); // exit(0)
  return c;
}

/** A static ELF32 executable: one RWX segment holding the code, with room for the buffer. */
function elf32(code: number[]): Uint8Array {
  const out = Buffer.alloc(ELF_CODE + code.length);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // ELFCLASS32, little-endian, version 1
  out.writeUInt16LE(2, 16); // ET_EXEC
  out.writeUInt16LE(3, 18); // EM_386
  out.writeUInt32LE(1, 20);
  out.writeUInt32LE(ELF_BASE + ELF_CODE, 24); // entry
  out.writeUInt32LE(52, 28); // program headers
  out.writeUInt16LE(52, 40);
  out.writeUInt16LE(32, 42);
  out.writeUInt16LE(1, 44);
  const ph = [1, 0, ELF_BASE, ELF_BASE, ELF_CODE + code.length, 0x20000, 7, 0x1000]; // PT_LOAD, RWX
  ph.forEach((v, i) => out.writeUInt32LE(v, 52 + i * 4));
  out.set(code, ELF_CODE);
  return out;
}

/** Runs `op` natively for every input; null where the host cannot run i386 processes. */
function runNative32(op: number[]): Buffer | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  const dir = mkdtempSync(join(tmpdir(), 'tsemu-bcd-'));
  try {
    const file = join(dir, 'probe');
    writeFileSync(file, elf32(nativeProgram(op)));
    chmodSync(file, 0o755);
    const r = spawnSync(file, { timeout: 10_000 });
    return r.status === 0 && r.stdout.length === NATIVE_CASES * 8 ? r.stdout : null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A real-mode software CPU (BCD instructions are valid there). */
function realModeCpu() {
  const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
  const cpu = new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus());
  const state = resetCpuState();
  state.cs = { ...state.cs, selector: 0, base: 0n };
  return { cpu, memory, state };
}

describe('decimal adjust against the real CPU', () => {
  const ops: [string, number[]][] = [
    ['daa', [0x27]], ['das', [0x2f]], ['aaa', [0x37]], ['aas', [0x3f]],
    ['aam 10', [0xd4, 0x0a]], ['aam 16', [0xd4, 0x10]], ['aad 10', [0xd5, 0x0a]], ['aad 7', [0xd5, 0x07]],
  ];
  it('matches AX and all six arithmetic flags for every AL and flag input', (ctx) => {
    const { cpu, memory, state } = realModeCpu();
    let compared = 0;
    for (const [name, op] of ops) {
      const hw = runNative32(op);
      if (!hw) return ctx.skip();
      noteUndefinedOnce();
      const flags = comparedFlags(BCD_UNDEFINED[name.split(' ')[0] as keyof typeof BCD_UNDEFINED]);
      memory.writeBytes(0x7c00, Uint8Array.from([...op, 0xf4]));
      for (let i = 0; i < NATIVE_CASES; i++) {
        const al = i & 0xff;
        const sel = i >> 8;
        const flagsIn = (sel & 1 ? 0x001 : 0) | (sel & 2 ? 0x010 : 0) | (sel & 4 ? 0x8c4 : 0);
        const ax = ((al ^ 0xa5) << 8) | al;
        cpu.regs.load(state);
        cpu.regs.rip = 0x7c00;
        cpu.regs.gpr.r16[0] = ax;
        cpu.regs.flags.set(flagsIn | 2);
        cpu.step();
        const where = `${name} ax=${hex(ax)} flags=${hex(flagsIn)}`;
        expect(hex(cpu.regs.gpr.r16[0]), `${where}: ax`).toBe(hex(hw.readUInt32LE(i * 8) & 0xffff));
        expect(hex(cpu.regs.flags.get() & flags), `${where}: flags`).toBe(hex(hw.readUInt32LE(i * 8 + 4) & flags));
        compared++;
      }
    }
    expect(compared).toBe(ops.length * NATIVE_CASES);
  });
});
