import { describe, expect, it } from 'vitest';
import { createPortBus, createSharedRamBacking, flatSegment32, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { PagedLinearMemory } from '../../src/interp/paged-memory.js';
import { Mmu } from '../../src/mmu/mmu.js';
import { SoftCpu } from '../../src/interp/soft-cpu.js';
import { DECODE_CACHE_SLOTS, DecodeCache, MAX_BLOCK_INSTRUCTIONS } from '../../src/interp/decode-cache.js';

const CR0_PE = 1;
const CR0_PG = 0x80000000;

/** A CPU with the decode cache on (it has an MMU), real mode at 0:`at`, an IVT of HLTs at 0x500. */
function cachedCpu(code: number[], at = 0x7c00) {
  const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
  const mmu = new Mmu(memory, createPortBus());
  const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
  for (let v = 0; v < 32; v++) {
    memory.write16(v * 4, 0x500 + v);
    memory.write16(v * 4 + 2, 0);
    memory.write8(0x500 + v, 0xf4);
  }
  memory.writeBytes(at, Uint8Array.from(code));
  const s = resetCpuState();
  s.cs = { ...s.cs, selector: 0, base: 0n };
  s.rip = BigInt(at);
  s.gpr[4] = 0x7000n;
  cpu.regs.load(s);
  return { cpu, memory, mmu, cache: cpu.decodeCache! };
}

/** The page directory the paging tests use: RAM's first MiB identity-mapped (the tables live there). */
const PD = 0x10000;
/** The page table for linear 4 MiB up, where each test maps the frames its code runs from. */
const PT = 0x11000;

/** Writes PD and PT (PT empty until the test maps its pages); the CPU enters paging with PD. */
function pagingAt4MiB(memory: GuestMemory): void {
  const low = 0x12000;
  memory.write32(PD, low | 3);
  for (let p = 0; p < 256; p++) memory.write32(low + p * 4, (p << 12) | 3);
  memory.write32(PD + 4, PT | 3);
}

/** Switches the CPU to flat 32-bit protected mode at CPL 0 (cr0 as given, mirrored into the MMU). */
function enterFlat32(cpu: SoftCpu, mmu: Mmu, cr0: number, cr3 = 0): void {
  const s = cpu.regs.save();
  s.cs = flatSegment32(8, true);
  for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = flatSegment32(16, false);
  s.cr0 = BigInt(cr0 >>> 0);
  s.cr3 = BigInt(cr3);
  cpu.regs.load(s);
  mmu.setPagingContext({ cr0: cr0 | 0, cr3, cr3Hi: 0, cr4: 0, efer: 0 });
}

describe('DecodeCache', () => {
  it('is on with an MMU and off without one', () => {
    const { cpu } = cachedCpu([0xf4]);
    expect(cpu.decodeCache).toBeInstanceOf(DecodeCache);
    const memory = new GuestMemory(createSharedRamBacking(0x10000), [{ gpa: 0, size: 0x10000, offset: 0 }]);
    expect(new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus()).decodeCache).toBeNull();
  });

  it('decodes a loop body once and reuses it on every iteration', () => {
    const { cpu, cache } = cachedCpu([
      0x31, 0xc0, //       xor ax, ax
      0xb9, 0x64, 0x00, // mov cx, 100
      0x01, 0xc8, //       add ax, cx   <- loop
      0xe2, 0xfc, //       loop -4
      0xf4, //             hlt
    ]);
    cpu.run(1000);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r16[0]).toBe(5050);
    // Two blocks: XOR, the first instruction, found no TLB entry for its page and ran outside
    // the cache (the fetch fills the TLB); then the block from MOV to HLT (LOOP does not end a
    // block), and the loop body at the branch target: ADD, LOOP, HLT. Decoded once each. With
    // the JIT at threshold 0 (npm run test:jit) the loop runs inside the first block's
    // translation, its head a label there (jit/block-compiler.ts): the body needs no block.
    const translated = cpu.jit !== null && cpu.jit.threshold === 0;
    expect(cache.counters.misses).toBe(translated ? 1 : 2);
    expect(cache.counters.decoded).toBe(translated ? 4 : 7);
    if (!translated) expect(cache.lookup(0x7c05, 16)?.count).toBe(3);
  });

  it('sees a store into the immediate of an instruction it already cached', () => {
    const { cpu, cache } = cachedCpu([
      0x31, 0xc0, //                   7c00 xor ax, ax
      0xb9, 0x03, 0x00, //             7c02 mov cx, 3
      0xfe, 0x06, 0x0a, 0x7c, //       7c05 inc byte [0x7c0a]   <- loop
      0x04, 0x10, //                   7c09 add al, 0x10 (immediate at 0x7c0a)
      0xe2, 0xf8, //                   7c0b loop 7c05
      0xf4, //                         7c0d hlt
    ]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    // The immediate is 0x11, 0x12, 0x13 on the three passes; a stale decode would add 0x11 thrice.
    expect(cpu.regs.gpr.r8[0]).toBe(0x11 + 0x12 + 0x13);
    expect(cache.counters.invalidations).toBeGreaterThanOrEqual(2);
  });

  it('sees a store that rewrites the opcode of an instruction it already cached', () => {
    const { cpu } = cachedCpu([
      0x31, 0xdb, //                   7c00 xor bx, bx
      0xb9, 0x02, 0x00, //             7c02 mov cx, 2
      0x43, //                         7c05 inc bx  (becomes dec bx: 0x4b) <- loop
      0xc6, 0x06, 0x05, 0x7c, 0x4b, // 7c06 mov byte [0x7c05], 0x4b
      0xe2, 0xf8, //                   7c0b loop 7c05
      0xf4, //                         7c0d hlt
    ]);
    cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r16[3 << 1]).toBe(0); // BX: +1 then -1 (a stale INC would give 2)
  });

  it('runs the new bytes when an instruction rewrites the next one in its own block', () => {
    const { cpu, cache } = cachedCpu([
      0x90, //                         7c00 nop (runs before the TLB knows the page)
      0xc6, 0x06, 0x06, 0x7c, 0x4b, // 7c01 mov byte [0x7c06], 0x4b
      0x43, //                         7c06 inc bx, rewritten to dec bx before it runs
      0xf4, //                         7c07 hlt
    ]);
    cpu.run(10);
    expect(cpu.halted).toBe(true);
    expect(cache.counters.invalidations).toBe(1);
    expect(cpu.regs.gpr.r16[3 << 1]).toBe(0xffff); // a stale INC would give 1
  });

  it('marks the pages it caches code from, and leaves data pages alone', () => {
    const { cpu, mmu } = cachedCpu([
      0xc6, 0x06, 0x00, 0x20, 0x55, // mov byte [0x2000], 0x55
      0xf4,
    ]);
    cpu.run(10);
    expect(mmu.tlb.hasCode(0x7c00)).toBe(true);
    expect(mmu.tlb.hasCode(0x2000)).toBe(false);
  });

  it('caches an instruction that crosses a page boundary as a block of its own, once the next page is in the TLB', () => {
    const { cpu, cache, mmu } = cachedCpu([
      0xb8, 0x34, 0x12, // 7ffe mov ax, 0x1234 (crosses into 0x8000)
      0xf4,
    ], 0x7ffe);
    const again = () => {
      cpu.regs.rip = 0x7ffe;
      cpu.halted = false;
      cpu.run(10);
    };
    cpu.run(10); // no TLB entries yet: the slow path fetches both pages and fills the TLB
    expect(cpu.regs.gpr.r16[0]).toBe(0x1234);
    expect(cache.lookup(0x7ffe, 16)).toBeNull();
    again();
    const block = cache.lookup(0x7ffe, 16)!;
    expect(block.count).toBe(1);
    expect(block.crossKey).toBe(0x8000);
    expect(block.crossEnd).toBe(0x8001);
    expect(mmu.tlb.hasCode(0x8000)).toBe(true); // so a store there reaches the code-write hook
    // A guest store into the byte in the second page drops it; the new immediate runs.
    mmu.write8(0x8000, 0x56, 0);
    expect(cache.lookup(0x7ffe, 16)).toBeNull();
    again();
    expect(cpu.regs.gpr.r16[0]).toBe(0x5634);
    expect(cache.lookup(0x7ffe, 16)?.crossKey).toBe(0x8000);
  });

  it('rebuilds a page-crossing block when the next page is remapped, and never runs the old bytes', () => {
    const { cpu, mmu, memory, cache } = cachedCpu([]);
    pagingAt4MiB(memory); // 4 MiB: the first page fixed, the second switched between frames
    memory.write32(PT, 0x30000 | 3);
    memory.write32(PT + 4, 0x40000 | 3);
    memory.writeBytes(0x30ffe, Uint8Array.from([0xb8, 0x01])); //             mov eax, 0x??????01 ...
    memory.writeBytes(0x40000, Uint8Array.from([0x00, 0x00, 0x00, 0xf4])); // ... 0x00000001; hlt
    memory.writeBytes(0x50000, Uint8Array.from([0x02, 0x00, 0x00, 0xf4])); // ... 0x00000201; hlt
    enterFlat32(cpu, mmu, CR0_PE | CR0_PG, PD);
    const again = () => {
      cpu.regs.rip = 0x400ffe;
      cpu.halted = false;
      cpu.run(10);
    };
    again();
    again();
    expect(cpu.regs.gpr.r32[0]).toBe(1);
    expect(cache.lookup(0x30ffe, 32)?.crossKey).toBe(0x40000);
    mmu.write32(PT + 4, 0x50000 | 3, 0); // the guest remaps the second page, then INVLPG
    mmu.invlpg(0x401000);
    again();
    expect(cpu.regs.gpr.r32[0]).toBe(0x201);
    again();
    expect(cpu.regs.gpr.r32[0]).toBe(0x201);
    expect(cache.lookup(0x30ffe, 32)?.crossKey).toBe(0x50000);
  });

  it('does not cache 16-bit code that wraps from IP 0xFFFF to 0, so a store to the wrapped byte is seen', () => {
    const { cpu, mmu, memory, cache } = cachedCpu([]);
    // CS base 0x1800: IP 0xFFFE-0xFFFF is linear 0x117FE-0x117FF, IP 0 is linear 0x1800.
    memory.writeBytes(0x117fe, Uint8Array.from([0xb8, 0x34])); // mov ax, 0x??34
    memory.writeBytes(0x1800, Uint8Array.from([0x12, 0xf4])); //  (high byte at IP 0), hlt
    const start = () => {
      cpu.regs.seg.selector[1] = 0x180;
      cpu.regs.seg.base[1] = 0x1800;
      cpu.regs.rip = 0xfffe;
      cpu.halted = false;
      cpu.run(10);
    };
    start();
    start(); // the first pass decoded on a TLB miss; this one would cache it
    expect(cpu.regs.gpr.r16[0]).toBe(0x1234);
    expect(cache.lookup(0x117fe, 16)).toBeNull();
    mmu.write8(0x1800, 0x56, 0); // a guest store through the MMU
    start();
    expect(cpu.regs.gpr.r16[0]).toBe(0x5634);
  });

  it('after flushDecodeCache runs code rewritten behind the MMU (DMA, test harnesses)', () => {
    const { cpu, memory } = cachedCpu([0xb0, 0x01, 0xf4]); // mov al, 1; hlt
    cpu.run(10);
    expect(cpu.regs.gpr.r8[0]).toBe(1);
    memory.write8(0x7c01, 2); // straight into RAM: the MMU never sees it
    cpu.flushDecodeCache();
    cpu.regs.rip = 0x7c00;
    cpu.halted = false;
    cpu.run(10);
    expect(cpu.regs.gpr.r8[0]).toBe(2);
  });

  it('keys entries by decoding mode: the same bytes run as 16-bit and then as 32-bit code', () => {
    // 16-bit: mov eax, 0x00020001 (66 = 32-bit operand). 32-bit: mov ax, 1; add al, [eax].
    const { cpu, mmu, memory } = cachedCpu([0x66, 0xb8, 0x01, 0x00, 0x02, 0x00, 0xf4]);
    cpu.run(10);
    expect(cpu.regs.gpr.r32[0] >>> 0).toBe(0x00020001);
    enterFlat32(cpu, mmu, CR0_PE);
    memory.write8(1, 0x40);
    cpu.regs.gpr.r32[0] = 0;
    cpu.regs.rip = 0x7c00;
    cpu.halted = false;
    cpu.run(10);
    expect(cpu.regs.gpr.r32[0] >>> 0).toBe(0x41);
  });

  it('follows a remapped page: the same linear address runs the new physical page', () => {
    const { cpu, mmu, memory } = cachedCpu([]);
    pagingAt4MiB(memory); // 4 MiB: one page, switched between two frames
    memory.write32(PT, 0x30000 | 3);
    memory.writeBytes(0x30000, Uint8Array.from([0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4])); // mov eax, 1; hlt
    memory.writeBytes(0x40000, Uint8Array.from([0xb8, 0x02, 0x00, 0x00, 0x00, 0xf4])); // mov eax, 2; hlt
    enterFlat32(cpu, mmu, CR0_PE | CR0_PG, PD);
    cpu.regs.rip = 0x400000;
    cpu.run(10);
    expect(cpu.regs.gpr.r32[0]).toBe(1);
    mmu.write32(PT, 0x40000 | 3, 0); // the guest edits its page table, then INVLPG
    mmu.invlpg(0x400000);
    cpu.regs.rip = 0x400000;
    cpu.halted = false;
    cpu.run(10);
    expect(cpu.regs.gpr.r32[0]).toBe(2);
  });

  it('runs the new page after the guest remaps the page it is running in and INVLPGs it', () => {
    // The block runner goes from block to block in one page without a TLB lookup (hot-dispatch.ts):
    // that holds only because INVLPG ends its call. The loop runs F1's blocks at 0x400021 and
    // 0x400040 twice, then points its own page at F2 and goes on to the same two addresses.
    const { cpu, mmu, memory } = cachedCpu([]);
    pagingAt4MiB(memory);
    memory.write32(PT, 0x30000 | 3);
    const f1 = new Uint8Array(0x50).fill(0x90);
    f1.set([0x31, 0xdb, 0x43, 0x83, 0xfb, 0x03, 0x74, 0x08, 0xeb, 0x17], 0); // xor ebx,ebx; inc ebx; cmp ebx,3; je 0x10; jmp 0x21
    f1.set([0xc7, 0x05, 0x00, 0x10, 0x01, 0x00, 0x03, 0x00, 0x04, 0x00], 0x10); // mov dword [0x11000], 0x40003
    f1.set([0x0f, 0x01, 0x3d, 0x00, 0x00, 0x40, 0x00, 0xeb, 0x1d], 0x1a); // invlpg [0x400000]; jmp 0x40
    const f2 = f1.slice();
    f1.set([0x83, 0xc0, 0x01, 0xeb, 0xbd], 0x40); // add eax, 1; jmp 0x02
    f2.set([0xba, 0xaa, 0x00, 0x00, 0x00, 0xf4], 0x40); // mov edx, 0xaa; hlt
    memory.writeBytes(0x30000, f1);
    memory.writeBytes(0x40000, f2);
    enterFlat32(cpu, mmu, CR0_PE | CR0_PG, PD);
    cpu.regs.rip = 0x400000;
    cpu.run(1000);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r32[0]).toBe(2);
    expect(cpu.regs.gpr.r32[2]).toBe(0xaa);
  });

  it('ends a block at its page end even when the next backing page has code decoded at its start', () => {
    // Page A's last instruction ends at the page end. The RAM page after A's (B) holds code
    // decoded earlier, at its offset 0, but the linear page after A maps to C: the block must stop
    // at A's end, and the CPU fetch the next instruction through the TLB, from C.
    const { cpu, mmu, memory } = cachedCpu([]);
    pagingAt4MiB(memory);
    memory.write32(PT, 0x30000 | 3); // 0x400000: A
    memory.write32(PT + 4, 0x50000 | 3); // 0x401000: C
    memory.write32(PT + 8, 0x31000 | 3); // 0x402000: B, the RAM page after A's
    memory.writeBytes(0x30ffb, Uint8Array.from([0xbb, 0x01, 0x00, 0x00, 0x00])); // mov ebx, 1 (ends at A's end)
    memory.writeBytes(0x31000, Uint8Array.from([0xb8, 0xbb, 0xbb, 0x00, 0x00, 0xf4])); // mov eax, 0xbbbb; hlt
    memory.writeBytes(0x50000, Uint8Array.from([0xb8, 0xcc, 0xcc, 0x00, 0x00, 0xf4])); // mov eax, 0xcccc; hlt
    enterFlat32(cpu, mmu, CR0_PE | CR0_PG, PD);
    const runFrom = (rip: number): void => {
      cpu.regs.rip = rip;
      cpu.halted = false;
      cpu.run(10);
    };
    // Twice each: a fetch without a TLB entry runs on its own, the next one from a cached block.
    runFrom(0x402000);
    runFrom(0x402000);
    expect(cpu.regs.gpr.r32[0]).toBe(0xbbbb);
    runFrom(0x400ffb);
    runFrom(0x400ffb);
    expect(cpu.regs.gpr.r32[3]).toBe(1);
    expect(cpu.regs.gpr.r32[0]).toBe(0xcccc);
  });

  it('delivers a fault in the middle of a run and keeps running from the handler', () => {
    const { cpu, memory } = cachedCpu([
      0xb0, 0x07, // mov al, 7
      0x0f, 0xff, // #UD (ud0)
      0xf4,
    ]);
    // The #UD handler (vector 6) sets BL and halts.
    memory.writeBytes(0x506, Uint8Array.from([0xb3, 0x99, 0xf4]));
    const n = cpu.run(100);
    expect(cpu.halted).toBe(true);
    expect(cpu.lastException).toBe(6);
    expect(cpu.regs.gpr.r16[3 << 1] & 0xff).toBe(0x99); // BL
    expect(n).toBe(3); // mov, then the handler's mov and hlt; the faulting instruction did not retire
    expect(memory.read16(0x7000 - 6)).toBe(0x7c02); // the pushed IP is the faulting instruction's
  });

  it('invalidate drops only the blocks whose bytes overlap the write', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x2000);
    bytes.set([0x90, 0xf4], 0x1000); // nop; hlt (ends the block): bytes 0x1000-0x1001
    bytes.set([0xf4], 0x1020); //       hlt: byte 0x1020
    expect(cache.build(bytes, 0x1000, 0x1000, 16, false, 1)?.count).toBe(2);
    expect(cache.build(bytes, 0x1020, 0x1020, 16, false, 1)?.count).toBe(1);
    cache.invalidate(0x1002, 0x1e); // between the two
    expect(cache.lookup(0x1000, 16)).not.toBeNull();
    expect(cache.lookup(0x1020, 16)).not.toBeNull();
    cache.invalidate(0x1001, 1); // the HLT of the first
    expect(cache.lookup(0x1000, 16)).toBeNull();
    expect(cache.lookup(0x1020, 16)).not.toBeNull();
    expect(cache.lookup(0x1020, 32)).toBeNull(); // keyed by mode too
    expect(cache.counters.invalidations).toBe(1);
    cache.flush();
    expect(cache.lookup(0x1020, 16)).toBeNull();
    expect(cache.size).toBe(0);
  });

  it('ends a block at the page end and leaves an instruction crossing it to the slow path', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x3000).fill(0x90);
    bytes.set([0xb8, 0x34], 0x1ffe); // mov ax, imm16: its last byte would be in the next page
    const block = cache.build(bytes, 0x1fe0, 0x1fe0, 16, false, 1)!;
    expect(block.count).toBe(30); // the NOPs at 0x1fe0-0x1ffd
    expect(block.end).toBe(0x1ffe);
    expect(cache.build(bytes, 0x1ffe, 0x1ffe, 16, false, 1)).toBeNull();
  });

  it('decodes a first instruction into the next page it is given, and drops it on writes to either part', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x4000).fill(0x90);
    bytes.set([0xb8, 0x34], 0x1ffe); // mov ax, imm16 ...
    bytes.set([0x12], 0x3000); //       ... whose last byte is in the next linear page, backed at 0x3000
    const block = cache.build(bytes, 0x1ffe, 0x1ffe, 16, false, 1, 0x3000, 3)!;
    expect(block.count).toBe(1);
    expect(block.insns[0].imm).toBe(0x1234);
    expect([block.end, block.crossKey, block.crossEnd]).toEqual([0x2000, 0x3000, 0x3001]);
    // A block that starts earlier still ends before the crossing instruction.
    expect(cache.build(bytes, 0x1fe0, 0x1fe0, 16, false, 1, 0x3000, 3)!.count).toBe(30);
    cache.invalidate(0x3001, 0x100); // past the instruction's byte
    expect(cache.lookup(0x1ffe, 16)).toBe(block);
    cache.invalidate(0x2000, 0x1000); // the page between, which backs neither part
    expect(cache.lookup(0x1ffe, 16)).toBe(block);
    cache.invalidate(0x3000, 1);
    expect(cache.lookup(0x1ffe, 16)).toBeNull();
    const again = cache.build(bytes, 0x1ffe, 0x1ffe, 16, false, 1, 0x3000, 3)!;
    cache.invalidate(0x1fff, 1);
    expect(cache.lookup(0x1ffe, 16)).toBeNull();
    expect(again.key).toBe(-1);
    // The physical page of the second part is noted for the MMU's code-write hook.
    const third = cache.build(bytes, 0x1ffe, 0x1ffe, 16, false, 1, 0x3000, 7)!;
    cache.invalidatePhys(7 * 4096, 1);
    expect(third.key).toBe(-1);
  });

  it('keeps the block a new one displaces in a second way, recalls it, and evicts the oldest of three', () => {
    const cache = new DecodeCache();
    const far = DECODE_CACHE_SLOTS; // the same slot, one table size further on
    const bytes = new Uint8Array(2 * far + 0x2000);
    bytes.set([0x90, 0xf4], 0x1000);
    bytes.set([0x90, 0x90, 0xf4], far + 0x1000);
    bytes.set([0x90, 0x90, 0x90, 0xf4], 2 * far + 0x1000);
    const first = cache.build(bytes, 0x1000, 0x1000, 16, false, 1)!;
    expect(cache.size).toBe(2);
    const second = cache.build(bytes, far + 0x1000, 0x1000, 16, false, 2)!;
    // Both stay: the first in the second way, where lookup and recall find it.
    expect(cache.lookup(0x1000, 16)).toBe(first);
    expect(cache.lookup(far + 0x1000, 16)).toBe(second);
    expect(cache.size).toBe(5);
    expect(cache.recall(far + 0x1000, 16)).toBeNull(); // in the first way: nothing to recall
    expect(cache.recall(0x1000, 16)).toBe(first); // now first way, `second` in the second
    // A third block in the slot pushes out the one in the second way, `second`.
    cache.build(bytes, 2 * far + 0x1000, 0x1000, 16, false, 3);
    expect(second.key).toBe(-1);
    expect(cache.lookup(far + 0x1000, 16)).toBeNull();
    expect(cache.lookup(0x1000, 16)).toBe(first);
    expect(cache.size).toBe(6);
    cache.invalidate(far + 0x1000, 3); // the evicted block's bytes: nothing live to drop
    expect(cache.counters.invalidations).toBe(0);
    // A write drops a block in either way.
    cache.invalidate(0x1001, 1);
    cache.invalidate(2 * far + 0x1003, 1);
    expect(cache.counters.invalidations).toBe(2);
    expect(first.key).toBe(-1);
    expect(cache.lookup(0x1000, 16)).toBeNull();
    expect(cache.lookup(2 * far + 0x1000, 16)).toBeNull();
    expect(cache.size).toBe(0);
  });

  it('replaces a block decoded again at the same key outright (no copy kept in the second way)', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x2000);
    bytes.set([0x90, 0xf4], 0x1000);
    const as16 = cache.build(bytes, 0x1000, 0x1000, 16, false, 1)!;
    const as32 = cache.build(bytes, 0x1000, 0x1000, 32, false, 1)!;
    expect(as16.key).toBe(-1);
    expect(cache.lookup(0x1000, 16)).toBeNull();
    expect(cache.lookup(0x1000, 32)).toBe(as32);
    expect(cache.size).toBe(2);
  });

  it('shares one decoded instruction between overlapping blocks, per mode, until a write overlaps it', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x2000);
    // inc ax; jz +0 (a conditional branch: the block goes on); inc bx; hlt
    bytes.set([0x40, 0x74, 0x00, 0x43, 0xf4], 0x1000);
    const outer = cache.build(bytes, 0x1000, 0x1000, 16, false, 1)!;
    const inner = cache.build(bytes, 0x1003, 0x1003, 16, false, 1)!; // the branch target
    expect(outer.count).toBe(4);
    expect(inner.count).toBe(2);
    expect(inner.insns[0]).toBe(outer.insns[2]);
    expect(inner.insns[1]).toBe(outer.insns[3]);
    // A write to INC BX's byte: both blocks go, and a new block decodes the new bytes (INC SP).
    bytes[0x1003] = 0x44;
    cache.invalidate(0x1003, 1);
    expect(cache.lookup(0x1000, 16)).toBeNull();
    const again = cache.build(bytes, 0x1003, 0x1003, 16, false, 1)!;
    expect(again.insns[0]).not.toBe(outer.insns[2]);
    expect(again.insns[0].opcode).toBe(0x44);
    // The HLT after it was not overlapped and is still shared.
    expect(again.insns[1]).toBe(outer.insns[3]);
    // A write into the middle of a multi-byte instruction (jz's displacement) drops it too.
    bytes[0x1002] = 0x01;
    cache.invalidate(0x1002, 1);
    const branch = cache.build(bytes, 0x1001, 0x1001, 16, false, 1)!;
    expect(branch.insns[0]).not.toBe(outer.insns[1]);
    expect(branch.insns[0].imm).toBe(1);
    // The same bytes as 32-bit code are decoded afresh (INC ESP, not INC SP).
    const as32 = cache.build(bytes, 0x1003, 0x1003, 32, false, 1)!;
    expect(as32.insns[0]).not.toBe(again.insns[0]);
    expect(as32.insns[0].opSize).toBe(4);
    expect(again.insns[0].opSize).toBe(2);
  });

  it('forgets shared instructions on flush, so bytes changed behind the MMU are decoded again', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x2000);
    bytes.set([0x40, 0xf4], 0x1000); // inc ax; hlt
    const first = cache.build(bytes, 0x1000, 0x1000, 16, false, 1)!;
    bytes[0x1000] = 0x41; // inc cx, written without the MMU (no invalidate)
    cache.flush();
    const second = cache.build(bytes, 0x1000, 0x1000, 16, false, 1)!;
    expect(second.insns[0]).not.toBe(first.insns[0]);
    expect(second.insns[0].opcode).toBe(0x41);
  });

  it('keeps at most MAX_BLOCK_INSTRUCTIONS in a block', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x1000).fill(0x90);
    expect(cache.build(bytes, 0, 0, 32, false, 0)?.count).toBe(MAX_BLOCK_INSTRUCTIONS);
  });
});
