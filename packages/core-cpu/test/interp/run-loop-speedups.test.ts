// The run loop's speed-ups keep the interpreter's behaviour: the size- and kind-fixed handler
// variants (generated/alu-forms.ts, handlers/data.ts) against their general handlers; the decode
// cache keyed by RAM backing offset when guest-physical addresses are not the backing offsets;
// and the decoding mode kept across instructions, re-read after one that changes it.
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { describe, expect, it } from 'vitest';
import { Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { ALU_FORM_VARIANTS } from '../../src/generated/alu-forms.js';
import { ALU_HANDLERS } from '../../src/interp/handlers/alu.js';
import { DATA_HANDLERS, LEA_VARIANTS, MOV_VARIANTS } from '../../src/interp/handlers/data.js';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { hotIndex } from '../../src/interp/hot-dispatch.js';
import { handlerOf } from '../../src/interp/decode-cache.js';
import { CODE, STACK_TOP, sumLoop, testCpu } from './test-machine.js';

const DS = 3;
const MEM = 0x1000;

let seed = 0x2468ace;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed ^ (seed >>> 15)) >>> 0;
}
/** Random 32-bit values weighted towards carry and overflow edges. */
function value(): number {
  const edges = [0, 1, 0xffff, 0x7fff, 0x8000, 0xffffffff, 0x7fffffff, 0x80000000];
  return (rand() & 3) === 0 ? edges[rand() % edges.length] : rand();
}

describe('handler variants fixed to one operand size and kind', () => {
  it('leave registers, memory and flags exactly as the general handler does', () => {
    const { cpu, memory } = testCpu([0xf4]);
    const insn = newInstruction();
    const tables = [
      ...Object.entries(ALU_FORM_VARIANTS).map(([key, v]) => ({ key, v, general: ALU_HANDLERS[key] })),
      ...Object.entries(MOV_VARIANTS).map(([key, v]) => ({ key, v, general: DATA_HANDLERS[key] })),
    ];
    expect(tables.length).toBe(8 * 4 + 2 + 3);
    let checked = 0;
    for (const { key, v, general } of tables) {
      expect(general, key).toBeTypeOf('function');
      for (let n = 0; n < 64; n++) {
        const kind = n & 3;
        insn.opSize = kind & 1 ? 4 : 2;
        insn.isMem = (kind & 2) !== 0;
        insn.addrSize = 2;
        insn.base = -1;
        insn.index = -1;
        insn.disp = MEM;
        insn.segment = DS;
        insn.reg = rand() & 7;
        insn.rm = rand() & 7;
        insn.imm = insn.opSize === 4 ? value() | 0 : value() & 0xffff;
        const regs = Array.from({ length: 8 }, () => value());
        const mem = value();
        const flags = 0x2 | (rand() & 0x8d5);
        const load = () => {
          for (let r = 0; r < 8; r++) {
            cpu.regs.gpr.r32[r] = regs[r];
            cpu.regs.gpr.hi[r] = 0x5a;
          }
          memory.write32(MEM, mem);
          cpu.regs.flags.set(flags);
        };
        const snapshot = () => [...cpu.regs.gpr.r32, ...cpu.regs.gpr.hi, memory.read32(MEM), cpu.regs.flags.get()];
        load();
        general(cpu, insn);
        const want = snapshot();
        load();
        v[kind](cpu, insn);
        expect(snapshot(), `${key} variant ${kind} case ${n}`).toEqual(want);
        checked++;
      }
    }
    expect(checked).toBe(37 * 64);
  });

  it('compute LEA exactly as the general handler does, at every address size it sees', () => {
    const { cpu } = testCpu([0xf4]);
    const insn = newInstruction();
    for (let n = 0; n < 400; n++) {
      insn.opSize = 4;
      insn.isMem = true;
      insn.addrSize = n % 3 === 0 ? 2 : 4;
      insn.base = (rand() & 7) - 1;
      insn.index = (rand() & 7) - 1;
      insn.scale = rand() & 3;
      insn.disp = value() | 0;
      insn.reg = rand() & 7;
      const regs = Array.from({ length: 8 }, () => value());
      const load = () => {
        for (let r = 0; r < 8; r++) {
          cpu.regs.gpr.r32[r] = regs[r];
          cpu.regs.gpr.hi[r] = 0x5a;
        }
      };
      load();
      DATA_HANDLERS.lea_Gv_M(cpu, insn);
      const want = [...cpu.regs.gpr.r32, ...cpu.regs.gpr.hi];
      load();
      LEA_VARIANTS[3](cpu, insn);
      expect([...cpu.regs.gpr.r32, ...cpu.regs.gpr.hi], `case ${n}`).toEqual(want);
    }
  });
});

describe('decode cache keyed by RAM backing offset', () => {
  it('sees self-modifying code when guest-physical addresses differ from backing offsets', () => {
    // Two 64 KiB RAM regions with their backing halves swapped: phys 0x7c00 is offset 0x17c00.
    const memory = new GuestMemory(createSharedRamBacking(0x20000), [
      { gpa: 0, size: 0x10000, offset: 0x10000 },
      { gpa: 0x10000, size: 0x10000, offset: 0 },
    ]);
    const mmu = new Mmu(memory, createPortBus());
    const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
    memory.writeBytes(0x7c00, Uint8Array.from([
      0xb8, 0x01, 0x00, //             7c00 mov ax, 1   <- its immediate is incremented by each pass
      0x40, //                         7c03 inc ax
      0xfe, 0x06, 0x01, 0x7c, //       7c04 inc byte [0x7c01]
      0xf4, //                         7c08 hlt
    ]));
    const s = resetCpuState();
    s.cs = { ...s.cs, selector: 0, base: 0n };
    s.ds = { ...s.ds, selector: 0, base: 0n };
    s.rip = 0x7c00n;
    const pass = () => {
      cpu.regs.load(s);
      cpu.halted = false;
      cpu.run(100);
      return cpu.regs.gpr.r16[0];
    };
    expect(pass()).toBe(2); // the MOV decoded on a TLB miss (not cached)
    expect(pass()).toBe(3); // the MOV decoded and cached; the store then drops it
    expect(pass()).toBe(4); // a stale cached MOV would give 3
    expect(memory.read8(0x7c01)).toBe(4);
  });
});

describe('decoding mode kept across instructions', () => {
  it('switches from 16-bit to 32-bit decoding at a far jump inside one run() call', () => {
    // Real mode sets CR0.PE, then a far JMP loads a 32-bit CS from the GDT; the next bytes
    // only give EAX = 0x12345678 when decoded as 32-bit code.
    const { cpu, memory } = testCpu([
      0x0f, 0x20, 0xc0, //             mov eax, cr0 (16-bit code: 0F 20 C0)
      0x0c, 0x01, //                   or al, 1
      0x0f, 0x22, 0xc0, //             mov cr0, eax
      0xea, 0x10, 0x7c, 0x08, 0x00, // jmp 0x08:0x7c10
      0x90, 0x90, 0x90, //             padding to 0x7c10
      0xb8, 0x78, 0x56, 0x34, 0x12, // 7c10 mov eax, 0x12345678 (32-bit)
      0xf4, //                         hlt
    ]);
    // GDT at 0x800: null, a flat 32-bit code segment (selector 8).
    memory.write32(0x800, 0);
    memory.write32(0x804, 0);
    memory.write32(0x808, 0x0000ffff);
    memory.write32(0x80c, 0x00cf9a00);
    const s = cpu.regs.save();
    s.gdt = { base: 0x800n, limit: 0x0f };
    cpu.regs.load(s);
    const n = cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r32[0] >>> 0).toBe(0x12345678);
    expect(n).toBe(6);
  });
});

describe('the block runner (interp/hot-dispatch.ts)', () => {
  it('gives frequent forms a case of their own and every other instruction the general call', () => {
    const { cpu } = testCpu([
      0x01, 0xd8, //       add ax, bx    (a listed form: 16-bit register ADD)
      0x0f, 0xa2, //       cpuid         (not listed)
      0xf4, //             hlt
    ]);
    // The first pass fills the TLB (a fetch without a TLB entry is decoded on its own); the
    // second runs from a decoded block.
    cpu.run(10);
    cpu.halted = false;
    cpu.regs.rip = CODE;
    cpu.run(10);
    const block = cpu.decodeCache!.lookup(CODE, 16);
    expect(block).not.toBeNull();
    const [add, cpuid] = block!.insns;
    expect(add.hotCase).toBeGreaterThan(0);
    expect(add.hotCase).toBe(hotIndex(handlerOf(add)));
    expect(cpuid.hotCase).toBe(0);
  });

  it('delivers a fault in the middle of a block at the faulting instruction, after those before it', () => {
    const { cpu, memory } = testCpu([
      0x40, //             inc ax
      0x43, //             inc bx
      0xa1, 0xff, 0xff, // mov ax, [0xffff]: a word past the DS limit, #GP(0)
      0x41, //             inc cx (not reached)
      0xf4,
    ], { haltingIvt: true });
    cpu.run(20);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(13);
    const g = cpu.regs.gpr.r16;
    expect([g[0], g[3 << 1], g[1 << 1]]).toEqual([1, 1, 0]);
    // The #GP frame (IP, CS, FLAGS) holds the MOV's address; the handler's HLT ran after it.
    expect(memory.read16(STACK_TOP - 6)).toBe(CODE + 2);
    expect(cpu.retired).toBe(3);
  });

  it('goes on from block to block by itself, and locates a fault in a block it entered itself', () => {
    const { cpu, memory } = testCpu([
      0xbb, 0x01, 0xff, // mov bx, 0xff01
      0x31, 0xc0, //       xor ax, ax
      0x40, //             top: inc ax
      0xeb, 0x00, //       jmp mid             (ends the block: the loop is two blocks)
      0x42, //             mid: inc dx
      0x89, 0x07, //       mov [bx], ax        (at BX = 0xffff a word past the DS limit: #GP(0))
      0x83, 0xc3, 0x02, // add bx, 2
      0xeb, 0xf5, //       jmp top
    ], { haltingIvt: true });
    // The interpreter's runner (with the suite's threshold-0 JIT, translations would run the loop).
    cpu.jit = null;
    const inner = (cpu as unknown as { runBlock: (...args: unknown[]) => number }).runBlock;
    let calls = 0;
    (cpu as unknown as { runBlock: (...args: unknown[]) => number }).runBlock = (...args) => {
      calls++;
      return inner(...args);
    };
    cpu.run(2000);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(13);
    const g = cpu.regs.gpr.r16;
    // 127 stores completed (BX 0xff01 ... 0xfffd); the 128th iteration faulted at the store,
    // after INC DX in the same block.
    expect([g[0], g[2 << 1], g[3 << 1]]).toEqual([128, 128, 0xffff]);
    expect(memory.read16(STACK_TOP - 6)).toBe(CODE + 9);
    expect(cpu.retired).toBe(2 + 127 * 6 + 3 + 1);
    // 254 blocks ran (two an iteration) in a handful of runner calls: each first fetch of a
    // page goes through the run loop once, then the runner follows the loop itself.
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(10);
  });

  it('follows a block\'s remembered successor only while it is still the cached block there', () => {
    const F = CODE + 0x20;
    const code = new Array<number>(0x30).fill(0x90);
    code.splice(0, 13,
      0xb9, 0x05, 0x00, //                   mov cx, 5
      0xe8, 0x1a, 0x00, //                   top: call f (0x7c20)
      0xfe, 0x06, ...[(F + 1) & 0xff, (F + 1) >> 8], // inc byte [f+1]: f's immediate, so f is decoded again
      0xe2, 0xf7, //                         loop top
      0xf4, //                               hlt
      0x90);
    code.splice(0x20, 6,
      0xb8, 0x01, 0x00, //                   f: mov ax, 1   <- 1, 2, 3, 4, 5 in turn
      0x01, 0xc2, //                         add dx, ax
      0xc3); //                              ret
    const { cpu } = testCpu(code);
    cpu.jit = null;
    cpu.run(1000);
    expect(cpu.halted).toBe(true);
    // The call's block remembers f's block; after each rewrite of f that block is dropped, and the
    // runner must find the new one (a stale link would add 1 five times).
    expect(cpu.regs.gpr.r16[2 << 1]).toBe(1 + 2 + 3 + 4 + 5);
    expect(cpu.retired).toBe(1 + 5 * 6 + 1);
  });

  it('is rebuilt after every runnerRefreshInstructions it ran, and the guest runs on unchanged', () => {
    const saved = SoftCpu.runnerRefreshInstructions;
    SoftCpu.runnerRefreshInstructions = 1000;
    try {
      const { cpu } = testCpu(sumLoop(10000));
      // The runner is the interpreter's: with a JIT (the suite's threshold-0 pass) translations
      // would run these instructions instead.
      cpu.jit = null;
      // run() in bursts, as the tcg accelerator calls it: the runner is checked between bursts.
      while (!cpu.halted) cpu.run(500);
      expect(cpu.regs.gpr.r16[0]).toBe((10000 * 10001 / 2) & 0xffff);
      expect(cpu.retired).toBe(2 + 2 * 10000 + 1);
      // 20,003 retired, 20,001 of them in blocks (the first instruction filled the TLB on its own,
      // HLT ends the last block): a rebuild every 1,000 of those, at the next burst (± 1).
      expect(cpu.runnerRefreshes).toBeGreaterThanOrEqual(18);
      expect(cpu.runnerRefreshes).toBeLessThanOrEqual(20);
    } finally {
      SoftCpu.runnerRefreshInstructions = saved;
    }
  });
});
