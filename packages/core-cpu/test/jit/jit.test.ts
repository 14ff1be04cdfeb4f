import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Jit, LONG_BLOCK_FACTOR, LONG_BLOCK_MIN_RUNS, type JitBackend } from '../../src/jit/jit.js';
import { asm32, le32, machine } from './jit-machine.js';
import type { SoftCpu } from '../../src/interp/soft-cpu.js';
import { INLINE_SCOPE, PURE_CALLS } from '../../src/jit/inline-handlers.js';
import { generateBlockSource } from '../../src/jit/block-compiler.js';
import { dataAccessMasks } from '../../src/mmu/mmu.js';
import { WasmRuntime } from '../../src/jit/wasm/runtime.js';
import { DECODE_CACHE_SLOTS, DecodeCache } from '../../src/interp/decode-cache.js';
import type { Handler } from '../../src/interp/handlers/types.js';
import type { CompiledBlock } from '../../src/jit/block-compiler.js';
import { PAUSE_CYCLES, PORT_ACCESS_CYCLES } from '../../src/interp/handlers/stall-cycles.js';
import { syncPrivilege } from '../../src/interp/protected/privilege.js';
import { attachCpuEnvironment } from '../../src/cpu-model/cpu-environment.js';

/** ECX counts 100 down while EAX sums it (5050), then HLT: the block from 0x1005 loops on itself. */
const COUNT_DOWN = [
  0xb9, 0x64, 0x00, 0x00, 0x00, // mov ecx, 100
  0x01, 0xc8, //                   add eax, ecx   <- loop (0x1005)
  0x49, //                         dec ecx
  0x75, 0xfb, //                   jne 0x1005
  0xf4, //                         hlt
];

/**
 * Runs `code` under the interpreter (`a`) and under a JIT (JavaScript translations) that lets blocks run 10 times first
 * and translates up to 8 blocks together (`b`), with the translations' sources.
 */
function withMultiBlockJit(code: number[]) {
  const a = machine(code, null);
  const b = machine(code, null);
  const sources: string[] = [];
  b.cpu.jit = new Jit({ threshold: 10, blocks: 8, backend: 'js', onCompile: (c) => sources.push(c.source) });
  a.cpu.run(1_000_000);
  b.cpu.run(1_000_000);
  return { a, b, sources };
}

/** Runs `code` to its HLT under the interpreter and under the JIT (threshold 0); returns both. */
function both(code: number[], real = false, limit = 1_000_000, backend: JitBackend = 'js') {
  const a = machine(code, null, real);
  const b = machine(code, 0, real, null, backend);
  a.cpu.run(limit);
  b.cpu.run(limit);
  return { interp: a, jit: b };
}

// A 32-bit loop: sum of i*3 for i = 1..1000 with memory traffic and flags work.
const SUM_LOOP = [
  0x31, 0xc0, //                   xor eax, eax
  0xb9, 0xe8, 0x03, 0x00, 0x00, // mov ecx, 1000
  0x8d, 0x14, 0x49, //             lea edx, [ecx+ecx*2]     <- loop (0x1007)
  0x01, 0xd0, //                   add eax, edx
  0x89, 0x04, 0x8d, 0x00, 0x20, 0x00, 0x00, // mov [ecx*4+0x2000], eax
  0x83, 0xd3, 0x00, //             adc ebx, 0
  0x49, //                         dec ecx
  0x75, 0xee, //                   jne 0x1007
  0xf4, //                         hlt
];

interface BasedDsRun {
  cpu: SoftCpu;
  /** Bytes at 0x2000, written through a flat DS. */
  flat: Uint8Array;
  /** Bytes at 0x6000: 0x2000 through the based DS. */
  based: Uint8Array;
}

/**
 * Runs `code` interpreted, then translated at `threshold`, with GDT selector 0x18 a data
 * segment at base 0x4000 (limit 4 GiB); both runs must halt.
 */
function runWithBasedDs(code: number[], threshold: number, length: number, onCompile: ((c: { source: string }) => void) | null = null): [BasedDsRun, BasedDsRun] {
  const [interp, jit] = [null, threshold].map((t) => {
    const m = machine(code, t, false, t === null ? null : onCompile);
    m.memory.write32(0x718, 0x4000ffff);
    m.memory.write32(0x71c, 0x00cf9200);
    m.cpu.regs.gdtLimit = 31;
    m.cpu.run(100000);
    return { cpu: m.cpu, flat: m.memory.readBytes(0x2000, length), based: m.memory.readBytes(0x6000, length) };
  });
  expect(interp.cpu.halted && jit.cpu.halted).toBe(true);
  return [interp, jit];
}

/** The translated run left counts, RIP, registers and both memory ranges as the interpreted one. */
function expectSameBasedDsRuns(jit: BasedDsRun, interp: BasedDsRun): void {
  expect([jit.cpu.retired, jit.cpu.regs.rip, ...jit.cpu.regs.gpr.r32]).toEqual([interp.cpu.retired, interp.cpu.regs.rip, ...interp.cpu.regs.gpr.r32]);
  expect(Array.from(jit.flat)).toEqual(Array.from(interp.flat));
  expect(Array.from(jit.based)).toEqual(Array.from(interp.based));
}

/**
 * Runs `code` interpreted, then under WebAssembly translations at threshold 2, each machine
 * seeded first; returns both and the WebAssembly translations' listings.
 */
function interpretedAndWasm(code: number[], seed: (m: ReturnType<typeof machine>) => void) {
  const sources: string[] = [];
  const a = machine(code, null);
  const b = machine(code, 2, false, (c) => sources.push(c.source), 'wasm');
  for (const m of [a, b]) {
    seed(m);
    m.cpu.run(100000);
  }
  return { a, b, wasm: sources.filter((s) => s.includes('WebAssembly')).join('\n') };
}

/** The interpreted run halted, and the translated one ended as it did: counts, RIP, EFLAGS, EAX..EDI. */
function expectSameEnd(b: ReturnType<typeof machine>, a: ReturnType<typeof machine>): void {
  expect(a.cpu.halted).toBe(true);
  expect([b.cpu.halted, b.cpu.retired, b.cpu.regs.rip, b.cpu.regs.flags.get(), ...b.cpu.regs.gpr.r32.subarray(0, 8)])
    .toEqual([a.cpu.halted, a.cpu.retired, a.cpu.regs.rip, a.cpu.regs.flags.get(), ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
}

describe('JIT', () => {
  it('translates 32-bit flat code to WebAssembly (--jit-backend=wasm), ending a translation before an instruction it does not write', () => {
    const code = COUNT_DOWN;
    const sources: string[] = [];
    const m = machine(code, 50, false, (c) => sources.push(c.source), 'wasm');
    m.cpu.run(100000);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[0]).toBe(5050);
    expect(m.cpu.retired).toBe(1 + 100 * 3 + 1);
    const c = m.cpu.jit!.counters;
    expect(c.wasm).toBe(1);
    // The loop's last 50 iterations ran in the WebAssembly translation; HLT, which it does not
    // write, ended it and ran interpreted (a JavaScript translation runs it inside).
    expect(c.retired).toBe(50 * 3);
    expect(sources[0]).toMatch(/^\/\/ block at 0x1005, 4 instructions, 32-bit code, branches inside, WebAssembly \(a \d+-byte function\)\n0x1005  add eax,ecx/);
  });

  it('makes JavaScript translations instead of WebAssembly ones while WasmRuntime.maxLiveTranslations are alive', () => {
    // Eight functions called in a loop: each is hot, and each return site too.
    const functions = Array.from({ length: 8 }, (_v, i) => [`f${i}`, 0x83, 0xc0, i + 1, 0xc3] as (number | string)[]); // add eax, i+1; ret
    const code = asm32([
      0xbd, 100, 0, 0, 0, //  mov ebp, 100
      0x31, 0xc0, //          xor eax, eax
      'loop',
      ...functions.map((_f, i): [string, string] => ['call', `f${i}`]),
      0x4d, ['jne', 'loop'], 0xf4, // dec ebp; jne loop; hlt
      ...functions.flat(),
    ]);
    const limit = WasmRuntime.maxLiveTranslations;
    WasmRuntime.maxLiveTranslations = 2;
    try {
      const a = machine(code, null);
      const b = machine(code, 2, false, null, 'wasm');
      a.cpu.run(100000);
      b.cpu.run(100000);
      expectSameEnd(b, a);
      expect(a.cpu.regs.gpr.r32[0]).toBe(100 * 36);
      const c = b.cpu.jit!.counters;
      // Nothing was dropped, so no slot came free: two WebAssembly translations, the rest JavaScript.
      expect(c.wasm).toBe(2);
      expect(c.wasmFull).toBeGreaterThan(0);
      expect(c.compiled - c.wasm).toBe(c.wasmFull);
      expect(c.retired).toBeGreaterThan(b.cpu.retired / 2);
    } finally {
      WasmRuntime.maxLiveTranslations = limit;
    }
  });

  it('keeps real-mode code in JavaScript translations under --jit-backend=wasm', () => {
    const code = [0xb9, 0x64, 0x00, 0x01, 0xc8, 0x49, 0x75, 0xfb, 0xf4]; // mov cx,100; add ax,cx; dec cx; jne; hlt
    const m = machine(code, 0, true, null, 'wasm');
    m.cpu.run(100000);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[0] & 0xffff).toBe(5050);
    expect(m.cpu.jit!.counters.compiled).toBeGreaterThan(0);
    expect(m.cpu.jit!.counters.wasm).toBe(0);
  });

  it('gives WebAssembly translations branch hints: memory accesses\' branches to their slow path unlikely, exits for pending work unlikely', () => {
    // Captures the modules the runtime compiles.
    const modules: Uint8Array[] = [];
    const Original = WebAssembly.Module;
    class Capturing extends Original {
      constructor(bytes: Uint8Array) {
        super(bytes);
        modules.push(new Uint8Array(bytes));
      }
    }
    (WebAssembly as { Module: typeof WebAssembly.Module }).Module = Capturing;
    let m;
    try {
      m = machine(SUM_LOOP, 0, false, null, 'wasm');
      m.cpu.run(1_000_000);
    } finally {
      (WebAssembly as { Module: typeof WebAssembly.Module }).Module = Original;
    }
    const interp = machine(SUM_LOOP, null);
    interp.cpu.run(1_000_000);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[0]).toBe(interp.cpu.regs.gpr.r32[0]);
    expect(m.cpu.jit!.counters.wasm).toBeGreaterThan(0);
    // Sections in order: [id, start, end] of their contents.
    const uleb = (b: Uint8Array, at: number): [number, number] => {
      let v = 0, shift = 0, byte;
      do { byte = b[at++]; v += (byte & 127) * 2 ** shift; shift += 7; } while (byte & 128);
      return [v, at];
    };
    const sectionsOf = (bytes: Uint8Array): [number, number, number][] => {
      const sections: [number, number, number][] = [];
      for (let at = 8; at < bytes.length;) {
        const id = bytes[at];
        const [size, start] = uleb(bytes, at + 1);
        sections.push([id, start, start + size]);
        at = start + size;
      }
      return sections;
    };
    const HINTS = 'metadata.code.branch_hint';
    const isHints = (bytes: Uint8Array, [id, start]: [number, number, number]): boolean => {
      if (id !== 0) return false;
      const [n, at] = uleb(bytes, start);
      return Buffer.from(bytes.subarray(at, at + n)).toString('latin1') === HINTS;
    };
    const translations = modules.filter((b) => sectionsOf(b).some((sec) => isHints(b, sec)));
    expect(translations.length).toBe(m.cpu.jit!.counters.wasm);
    // The loop's translation has both kinds; one made after a slow exit (the store's first TLB
    // miss) from the instruction after it may have no branch inside.
    const IF = 0x04, BR_IF = 0x0d;
    const kinds = new Set<string>();
    for (const bytes of translations) {
      const sections = sectionsOf(bytes);
      const hintIndex = sections.findIndex((sec) => isHints(bytes, sec));
      const codeIndex = sections.findIndex(([id]) => id === 10);
      expect(hintIndex).toBeGreaterThanOrEqual(0);
      expect(hintIndex).toBeLessThan(codeIndex); // V8 reads hints only before the code
      // The hints: name, one function (index 0), its hints (offset, size 1, value).
      let [n, at] = uleb(bytes, sections[hintIndex][1]);
      at += n;
      [n, at] = uleb(bytes, at);
      expect(n).toBe(1);
      [n, at] = uleb(bytes, at);
      expect(n).toBe(0);
      let count;
      [count, at] = uleb(bytes, at);
      const hints: [number, number][] = [];
      for (let i = 0; i < count; i++) {
        let offset, size;
        [offset, at] = uleb(bytes, at);
        [size, at] = uleb(bytes, at);
        expect(size).toBe(1);
        hints.push([offset, bytes[at++]]);
      }
      // The one function's body: offsets count from its start (the locals declarations).
      let [, bodyAt] = uleb(bytes, sections[codeIndex][1]);
      [, bodyAt] = uleb(bytes, bodyAt);
      const hinted = hints.map(([offset, v]) => [bytes[bodyAt + offset], v]);
      for (const [op] of hinted) expect([IF, BR_IF]).toContain(op);
      for (const [op, v] of hinted) kinds.add(`${op}:${v}`);
    }
    expect(kinds.has(`${BR_IF}:0`)).toBe(true); // the write's branch to its slow path
    expect(kinds.has(`${IF}:0`)).toBe(true); // the loop branch's exit for pending work
  });

  it('runs LODS, STOS, MOVS, SCAS and CMPS (no REP) in WebAssembly translations, DF clear and set, as the interpreter does', () => {
    const code = asm32([
      0xbe, ...le32(0x3000), 0xbf, ...le32(0x3100), 0xb9, ...le32(64), //   mov esi, 0x3000; mov edi, 0x3100; mov ecx, 64
      'copy', 0xac, 0x00, 0xc8, 0xaa, 0x49, ['jne', 'copy'], //             lodsb; add al, cl; stosb; dec ecx; jne
      0xbe, ...le32(0x3100), 0xbf, ...le32(0x3200), 0xb9, ...le32(16), //   mov esi, 0x3100; mov edi, 0x3200; mov ecx, 16
      'words', 0xa5, 0x66, 0xaf, 0x49, ['jne', 'words'], //                 movsd; scasw; dec ecx; jne
      0xfd, 0xbe, ...le32(0x313c), 0xbf, ...le32(0x323c), 0xb9, ...le32(8), // std; esi, edi at the last dwords; ecx = 8
      'back', 0xa7, 0x0f, 0x94, 0xc3, 0x00, 0xdf, 0x66, 0xab, 0x49, ['jne', 'back'], // cmpsd; sete bl; add bh, bl; stosw; dec ecx; jne
      0xfc, 0xf4, //                                                         cld; hlt
    ]);
    const { a, b, wasm } = interpretedAndWasm(code, (m) => {
      for (let i = 0; i < 0x100; i++) m.memory.write8(0x3000 + i, (i * 37 + 11) & 0xff);
      m.memory.write32(0x3210, 0x12345678);
    });
    expectSameEnd(b, a);
    expect(Array.from(b.memory.readBytes(0x3000, 0x300))).toEqual(Array.from(a.memory.readBytes(0x3000, 0x300)));
    // The loops ran in WebAssembly: each one's string instructions are in a listing.
    for (const m of ['lods', 'stos', 'movs', 'scas', 'cmps']) expect(wasm, m).toContain(`  ${m} `);
    expect(b.cpu.jit!.counters.retired).toBeGreaterThan(100);
  });

  it('runs BSWAP, CWD/CDQ and DIV r32/m32 in WebAssembly translations, and raises a DIV\'s #DE from the translation', () => {
    // 40 rounds: eax = bswap(ebx); cdq; cwd (16-bit); div ecx (ecx = 7 + round; edx first < ecx),
    // then the same through memory: div dword [0x3000]; then a DIV of memory holding zero in the
    // middle of the translation: the #DE handler's HLT ends the run.
    const code = asm32([
      0xbb, ...le32(0x89abcdef), 0xbe, ...le32(40), 0x31, 0xff, //                      mov ebx, ...; mov esi, 40; xor edi, edi
      'round', 0x89, 0xd8, 0x0f, 0xc8, 0x99, 0x66, 0x99, 0x31, 0xd2, //                 mov eax, ebx; bswap eax; cdq; cwd; xor edx, edx
      0x8d, 0x4e, 0x07, 0xf7, 0xf1, 0x01, 0xc7, 0x01, 0xd7, 0x0f, 0xcb, 0x01, 0xf3, //  lea ecx, [esi+7]; div ecx; add edi, eax; add edi, edx; bswap ebx; add ebx, esi
      0x89, 0x0d, ...le32(0x3000), 0x89, 0xd8, 0x31, 0xd2, //                          mov [0x3000], ecx; mov eax, ebx; xor edx, edx
      0xf7, 0x35, ...le32(0x3000), 0x01, 0xc7, 0x01, 0xd7, //                          div dword [0x3000]; add edi, eax; add edi, edx
      0x4e, ['jne', 'round'], //                                                       dec esi; jne round
      0x89, 0xf8, 0x31, 0xc9, 0x89, 0x0d, ...le32(0x3000), 0x01, 0xc2, //              mov eax, edi; xor ecx, ecx; mov [0x3000], ecx; add edx, eax
      0xf7, 0x35, ...le32(0x3000), 0xf4, //                                            div dword [0x3000] (#DE); hlt
    ]);
    const sources: string[] = [];
    const a = machine(code, null);
    const b = machine(code, 2, false, (c) => sources.push(c.source), 'wasm');
    a.cpu.run(100000);
    b.cpu.run(100000);
    expect(a.cpu.lastException).toBe(0); // #DE
    expect([b.cpu.halted, b.cpu.lastException, b.cpu.retired, b.cpu.regs.rip, b.cpu.regs.flags.get(), ...b.cpu.regs.gpr.r32.subarray(0, 8)])
      .toEqual([a.cpu.halted, a.cpu.lastException, a.cpu.retired, a.cpu.regs.rip, a.cpu.regs.flags.get(), ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
    expect(Array.from(b.memory.readBytes(0x7f00, 0x100))).toEqual(Array.from(a.memory.readBytes(0x7f00, 0x100)));
    const wasm = sources.filter((s) => s.includes('WebAssembly')).join('\n');
    for (const m of ['bswap', 'cdq', 'cwd', 'div']) expect(wasm, m).toMatch(new RegExp(`  ${m}\\b`));
    expect(wasm).toMatch(/div DWORD PTR/);
    // The #DE came from the loop's translation, at the last DIV (after instructions that
    // completed there), not from the interpreter.
    const lastDiv = 0x1000 + code.length - 7;
    expect(b.cpu.jitFaultIp).toBe(lastDiv);
    expect(b.cpu.jit!.counters.handlerCalls).toBe(0);
  });

  it('runs CMPXCHG, XADD and XCHG EAX, r32 in WebAssembly translations, equal and unequal compares, in memory and registers', () => {
    // 50 rounds; [0x3000] and [0x3004] start at 7 and 5.
    const code = asm32([
      0xbe, ...le32(50), 0x31, 0xff, 0xbb, ...le32(0x11111111), //       mov esi, 50; xor edi, edi; mov ebx, 0x11111111
      'round', 0x8b, 0x05, ...le32(0x3000), 0x8d, 0x4e, 0x03, //         mov eax, [0x3000]; lea ecx, [esi+3]
      0x0f, 0xb1, 0x0d, ...le32(0x3000), //                             cmpxchg [0x3000], ecx   (equal: the store)
      0x0f, 0xb1, 0x1d, ...le32(0x3000), //                             cmpxchg [0x3000], ebx   (unequal: EAX loaded)
      0x01, 0xc7, 0x0f, 0xc1, 0x0d, ...le32(0x3004), //                 add edi, eax; xadd [0x3004], ecx
      0x0f, 0xc1, 0xdf, 0x92, //                                        xadd edi, ebx; xchg eax, edx
      0x0f, 0xb1, 0xca, //                                              cmpxchg edx, ecx
      0x89, 0xd8, 0x0f, 0xb1, 0xfb, //                                  mov eax, ebx; cmpxchg ebx, edi   (equal)
      0x0f, 0xb1, 0xc8, 0x91, 0x01, 0xcb, //                            cmpxchg eax, ecx (equal: EAX = ECX); xchg eax, ecx; add ebx, ecx
      0x0f, 0x92, 0xc2, 0x01, 0xd7, //                                  setb dl; add edi, edx
      0x4e, ['jne', 'round'], 0xf4, //                                  dec esi; jne round; hlt
    ]);
    const { a, b, wasm } = interpretedAndWasm(code, (m) => {
      m.memory.write32(0x3000, 7);
      m.memory.write32(0x3004, 5);
    });
    expectSameEnd(b, a);
    expect(Array.from(b.memory.readBytes(0x3000, 8))).toEqual(Array.from(a.memory.readBytes(0x3000, 8)));
    for (const m of ['cmpxchg', 'xadd', 'xchg']) expect(wasm, m).toMatch(new RegExp(`  ${m}\\b`));
    expect(b.cpu.jit!.counters.retired).toBeGreaterThan(500);
    expect(b.cpu.jit!.counters.handlerCalls).toBe(0);
  });

  it('runs instructions it writes no code for through their interpreter handler inside WebAssembly translations (REP MOVS, BTS m32, CMPXCHG8B, CLI; SHRD and XADD, written since), in bursts, as the interpreter does', () => {
    const code = asm32([
      0xbd, ...le32(30), 0xb8, ...le32(3), 0xbb, ...le32(0x12345678), 0xba, ...le32(0x9abcdef0), // mov ebp, 30; mov eax, 3; mov ebx, ...; mov edx, ...
      'loop', 0xbe, ...le32(0x3000), 0xbf, ...le32(0x3400), 0xb9, ...le32(64), //                mov esi, 0x3000; mov edi, 0x3400; mov ecx, 64
      0xf3, 0xa5, //                                                                            rep movsd
      0x0f, 0xab, 0x05, ...le32(0x3800), //                                                     bts [0x3800], eax
      0x0f, 0xac, 0xd3, 0x05, //                                                                shrd ebx, edx, 5
      0x0f, 0xc7, 0x0d, ...le32(0x3900), //                                                     cmpxchg8b [0x3900]
      0x0f, 0xc1, 0x0d, ...le32(0x3904), //                                                     xadd [0x3904], ecx
      0x01, 0x05, ...le32(0x3000), 0x40, //                                                     add [0x3000], eax; inc eax
      0xfa, //                                                                                  cli
      0x4d, ['jne', 'loop'], 0xf4, //                                                           dec ebp; jne loop; hlt
    ]);
    const seed = (m: ReturnType<typeof machine>): ReturnType<typeof machine> => {
      for (let i = 0; i < 64; i++) m.memory.write32(0x3000 + 4 * i, (i * 0x01010101) ^ 0x5a5a5a5a);
      return m;
    };
    const a = seed(machine(code, null));
    const b = seed(machine(code, 2, false, null, 'wasm'));
    a.cpu.run(1_000_000);
    // Bursts of 1..23 instructions: REP MOVS ends some of them part-way (RIP stays on it).
    for (let burst = 1; !b.cpu.halted; burst = (burst % 23) + 1) b.cpu.run(burst);
    expect(a.cpu.halted).toBe(true);
    expect([b.cpu.retired, b.cpu.regs.rip, b.cpu.regs.flags.get(), ...b.cpu.regs.gpr.r32.subarray(0, 8)])
      .toEqual([a.cpu.retired, a.cpu.regs.rip, a.cpu.regs.flags.get(), ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
    expect(Array.from(b.memory.readBytes(0x3000, 0x1000))).toEqual(Array.from(a.memory.readBytes(0x3000, 0x1000)));
    const c = b.cpu.jit!.counters;
    // The loop is one WebAssembly translation that calls the four handlers (before, it ended at
    // REP MOVS and the rest of its block became a JavaScript translation). 34 calls: the first
    // rounds run interpreted, and the short bursts end many rounds before their handlers.
    expect(c.wasm).toBe(c.compiled);
    expect(c.handlerCalls).toBeGreaterThan(20);
  });

  it('reads through a based 4 GiB segment (Linux\'s per-CPU FS) in WebAssembly translations, and checks the base on entry', () => {
    // sum the dwords at fs:[ebx], ebx = 0 .. 0x3c, then HLT
    const code = asm32([
      0x31, 0xdb, 0xb9, ...le32(16), //                 xor ebx, ebx; mov ecx, 16
      'sum', 0x64, 0x03, 0x03, 0x83, 0xc3, 0x04, 0x49, ['jne', 'sum'], // add eax, fs:[ebx]; add ebx, 4; dec ecx; jne
      0xf4,
    ]);
    const runs = [0x2000, 0x2400].map((fsBase) => {
      const sources: string[] = [];
      const run = (m: ReturnType<typeof machine>) => {
        for (let i = 0; i < 0x800; i += 4) m.memory.write32(0x2000 + i, i * 3 + 1);
        m.cpu.regs.seg.base[4] = fsBase;
        m.cpu.run(100000);
        return m;
      };
      return { a: run(machine(code, null)), b: run(machine(code, 2, false, (c) => sources.push(c.source), 'wasm')), sources };
    });
    for (const { a, b, sources } of runs) {
      expect([b.cpu.retired, ...b.cpu.regs.gpr.r32.subarray(0, 8)]).toEqual([a.cpu.retired, ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
      expect(sources.some((s) => s.includes('WebAssembly') && s.includes('fs:'))).toBe(true);
    }
    expect(runs[0].a.cpu.regs.gpr.r32[0]).not.toBe(runs[1].a.cpu.regs.gpr.r32[0]);
    // A translation made for one base refuses another (its prologue returns 0: stale).
    const m = machine(code, 2, false, null, 'wasm');
    m.cpu.regs.seg.base[4] = 0x2000;
    m.cpu.run(20);
    m.cpu.regs.seg.base[4] = 0x2400;
    const before = m.cpu.jit!.counters.stale;
    m.cpu.run(30);
    expect(m.cpu.jit!.counters.stale).toBe(before + 1);
  });

  it('goes on from one WebAssembly translation to the next inside the dispatcher (jump cache), as the interpreter runs them', () => {
    // 1000 calls of a function in a loop: call, the function, and the loop's tail are separate translations.
    const code = asm32([
      0xb9, ...le32(1000), //                  mov ecx, 1000
      'loop', ['call', 'f'], 0x49, ['jne', 'loop'], 0xf4, // call f; dec ecx; jne loop; hlt
      'f', 0x01, 0xc8, 0x83, 0xd2, 0x00, 0xc3, //           f: add eax, ecx; adc edx, 0; ret
    ]);
    const a = machine(code, null);
    const b = machine(code, 0, false, null, 'wasm');
    a.cpu.run(100000);
    b.cpu.run(100000);
    expect([b.cpu.retired, b.cpu.regs.rip, b.cpu.regs.flags.get(), ...b.cpu.regs.gpr.r32.subarray(0, 8)])
      .toEqual([a.cpu.retired, a.cpu.regs.rip, a.cpu.regs.flags.get(), ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
    expect(Array.from(b.memory.readBytes(0x7f00, 0x100))).toEqual(Array.from(a.memory.readBytes(0x7f00, 0x100)));
    const c = b.cpu.jit!.counters;
    // Almost every step between translations stays inside WebAssembly.
    expect(c.wasmChained).toBeGreaterThan(2500);
    expect(c.entries).toBeLessThan(100);
  });

  it('leaves the jump cache when a translation\'s code is rewritten, so the dispatcher never runs the old code', () => {
    // Each pass calls f, which loads an immediate, then increments that immediate in the code.
    const code = asm32([
      0xb9, ...le32(50), 0x31, 0xdb, //                     mov ecx, 50; xor ebx, ebx
      'loop', ['call', 'f'], 0x01, 0xc3, //                 call f; add ebx, eax
      0xff, 0x05, ['abs32', 'imm'], 0x49, ['jne', 'loop'], 0xf4, // inc dword [imm]; dec ecx; jne loop; hlt
      'f', 0xb8, 'imm', ...le32(1), 0xc3, //                f: mov eax, 1; ret
    ]);
    const a = machine(code, null);
    const b = machine(code, 0, false, null, 'wasm');
    a.cpu.run(100000);
    b.cpu.run(100000);
    expect(a.cpu.regs.gpr.r32[3]).toBe(1275); // 1 + 2 + ... + 50
    expect([b.cpu.retired, ...b.cpu.regs.gpr.r32.subarray(0, 8)]).toEqual([a.cpu.retired, ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
    expect(b.cpu.jit!.counters.wasmChained).toBeGreaterThan(50);
  });


  it('runs a short translation\'s block in the interpreter\'s runner instead of entering it from interpreted code', () => {
    // A leaf (ADD EDX, 1; RET) called from 8 call sites of a loop of 2,000 passes, at threshold
    // 5,000: the leaf runs 16,000 times and is translated; each caller block runs 2,000 times
    // and stays interpreted. Entered from the run loop, the leaf's translation runs 2
    // instructions an entry, so after a few entries the runner runs the leaf's block itself:
    // thousands of trips through the run loop (to the translation and back) otherwise.
    const calls = Array.from({ length: 8 }, () => [['call', 'leaf'] as [string, string], 0x40]).flat(); // call leaf; inc eax
    const code = asm32([
      0xb9, ...le32(2000), 0x31, 0xc0, 0x31, 0xd2, //  mov ecx, 2000; xor eax, eax; xor edx, edx
      'loop', ...calls, 0x49, ['jne', 'loop'], 0xf4, // 8 x (call leaf; inc eax); dec ecx; jne loop; hlt
      'leaf', 0x83, 0xc2, 0x01, 0xc3, //                add edx, 1; ret
    ]);
    const run = (threshold: number | null, backend: JitBackend) => {
      const m = machine(code, threshold, false, null, backend);
      m.cpu.run(1_000_000);
      return { regs: [m.cpu.retired, m.cpu.halted, ...m.cpu.regs.gpr.r32.subarray(0, 8)], counters: m.cpu.jit?.counters };
    };
    const interpreted = run(null, 'wasm');
    expect(interpreted.regs.slice(0, 5)).toEqual([3 + 2000 * 34 + 1, true, 16000, 0, 16000]);
    for (const backend of ['wasm', 'js'] as const) {
      const jit = run(5000, backend);
      expect(jit.regs).toEqual(interpreted.regs);
      expect(jit.counters!.compiled).toBe(1);
      // The entries that measured the translation's run (CompiledBlock.ran, 1/8 weight each).
      expect(jit.counters!.entries).toBeGreaterThan(10);
      expect(jit.counters!.entries).toBeLessThan(100);
    }
  });

  it('translates a long block sooner with WebAssembly translations: runs x length against LONG_BLOCK_FACTOR x the threshold', () => {
    // A loop body of 40 instructions (38 ADDs, DEC, JNE), 200 passes, at threshold 2000: the
    // run count alone never passes it. The loop's block (the body and the HLT after it: 41
    // instructions) is entered from the second pass on.
    const code = asm32([
      0xb9, ...le32(200), 0x31, 0xc0, //                   mov ecx, 200; xor eax, eax
      'loop', ...Array.from({ length: 38 }, () => [0x01, 0xc8]).flat(), 0x49, ['jne', 'loop'], 0xf4, // add eax, ecx (x38); dec ecx; jne loop; hlt
    ]);
    const a = machine(code, null);
    a.cpu.run(100000);
    expect(a.cpu.regs.gpr.r32[0]).toBe(38 * 20100);
    const translatedBy = (backend: JitBackend) => {
      const m = machine(code, 2000, false, null, backend);
      m.cpu.run(100000);
      expect([m.cpu.retired, ...m.cpu.regs.gpr.r32.subarray(0, 8)]).toEqual([a.cpu.retired, ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
      return [m.cpu.jit!.counters.compiled, Math.abs(m.cpu.jit!.counters.retired)];
    };
    // 2000 x 2.5 = 5000 instructions: its 122nd run (122 x 41) passes that, and passes 123 to
    // 200 run translated (the HLT is interpreted: WebAssembly translations end before it).
    expect([LONG_BLOCK_FACTOR, LONG_BLOCK_MIN_RUNS]).toEqual([2.5, 64]);
    expect(translatedBy('wasm')).toEqual([1, 78 * 40]);
    // JavaScript translations keep the run threshold alone (they cost V8 much more to make).
    expect(translatedBy('js')).toEqual([0, 0]);
    // So does 16-bit code, whose translations are JavaScript with either backend: the same loop
    // in real mode (mov cx, 200; xor ax, ax; add ax, cx x38; dec cx; jne; hlt) stays interpreted.
    const real = asm32([0xb9, 200, 0, 0x31, 0xc0, 'loop', ...Array.from({ length: 38 }, () => [0x01, 0xc8]).flat(), 0x49, ['jne', 'loop'], 0xf4]);
    const r = machine(real, 2000, true, null, 'wasm');
    r.cpu.run(100000);
    expect([r.cpu.halted, r.cpu.regs.gpr.r32[0] & 0xffff, r.cpu.jit!.counters.compiled]).toEqual([true, (38 * 20100) & 0xffff, 0]);
  });

  it('enters a WebAssembly translation at a member block (a call\'s return site) instead of translating that block again', () => {
    // The loop's CALL block translates with the return site as a member (it ran 20 times);
    // f lies in the next page, outside the translation, so each RET comes back to the run
    // loop at the return site, which enters the loop's translation there.
    const code = asm32([
      0xb9, ...le32(100), 0x31, 0xc0, ['jmp', 'loop'], //    mov ecx, 100; xor eax, eax; jmp loop
      'loop', ['call', 'f'], //                              call f
      0x01, 0xc8, 0x49, ['jne', 'loop'], 0xf4, //            add eax, ecx; dec ecx; jne loop; hlt
      ['pad', '0x2000'], 'f', 0x83, 0xc2, 0x01, 0xc3, //     f: add edx, 1; ret
    ]);
    const a = machine(code, null);
    a.cpu.run(100000);
    expect([a.cpu.regs.gpr.r32[0], a.cpu.regs.gpr.r32[2]]).toEqual([5050, 100]);
    const counts = (backend: JitBackend) => {
      const m = machine(code, 20, false, null, backend);
      m.cpu.run(100000);
      expect([m.cpu.retired, m.cpu.regs.rip, m.cpu.regs.flags.get(), ...m.cpu.regs.gpr.r32.subarray(0, 8)])
        .toEqual([a.cpu.retired, a.cpu.regs.rip, a.cpu.regs.flags.get(), ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
      const c = m.cpu.jit!.counters;
      return { compiled: c.compiled, shared: c.sharedEntries };
    };
    // WebAssembly: the CALL block's translation and f's; the return site has an entry into the first.
    expect(counts('wasm')).toEqual({ compiled: 2, shared: 1 });
    // JavaScript translations have one entry each: the return site is translated on its own.
    expect(counts('js')).toEqual({ compiled: 3, shared: 0 });
  });

  it('takes the other members\' entries out with a translation whose member is rewritten', () => {
    // The loop's translation holds the return site R and X (the block R jumps to), each with an
    // entry. On the 50th pass f rewrites X's immediate: X's block goes, and the translation
    // with it, so the RET to R must not enter the translation's old copy of X.
    const code = asm32([
      0xb9, ...le32(100), 0x31, 0xdb, ['jmp', 'loop'], //    mov ecx, 100; xor ebx, ebx; jmp loop
      'loop', ['call', 'f'], //                              call f
      0x01, 0xc3, ['jmp', 'x'], //                           R: add ebx, eax; jmp x
      'x', 0xb8, 'imm', ...le32(1), 0x49, ['jne', 'loop'], 0xf4, // X: mov eax, 1; dec ecx; jne loop; hlt
      ['pad', '0x2000'], 'f', 0x83, 0xf9, 0x32, ['jne', 'ret'], // f: cmp ecx, 50; jne ret
      0xff, 0x05, ['abs32', 'imm'], 'ret', 0xc3, //          inc dword [imm]; ret
    ]);
    const a = machine(code, null);
    a.cpu.run(100000);
    // EAX is 0 on the first pass, 1 on the next 50 and 2 on the last 49.
    expect(a.cpu.regs.gpr.r32[3]).toBe(50 + 2 * 49);
    const b = machine(code, 20, false, null, 'wasm');
    b.cpu.run(100000);
    expect([b.cpu.retired, b.cpu.regs.rip, ...b.cpu.regs.gpr.r32.subarray(0, 8)]).toEqual([a.cpu.retired, a.cpu.regs.rip, ...a.cpu.regs.gpr.r32.subarray(0, 8)]);
    expect(b.cpu.jit!.counters.sharedEntries).toBeGreaterThanOrEqual(2);
  });

  it('runs read-modify-writes to memory with one TLB lookup in WebAssembly, and faults one on a read-only page as the interpreter does', () => {
    // Paging (identity, 4 KiB pages) with CR0.WP: 0x9000 is read-only, 0xa000 writable with D
    // clear. ADD, INC, NOT, NEG and SHL on 0xa000 in a loop, then a read of 0x9000 (its TLB
    // entry is then filled) and an ADD to it, which must fault (#PF, a write to a present page)
    // after its read, with the memory as it was.
    const code = asm32([
      0xb9, ...le32(50), ['jmp', 'loop'], //                         mov ecx, 50; jmp loop
      'loop', 0x01, 0x0d, ...le32(0xa000), 0xff, 0x05, ...le32(0xa004), // add [0xa000], ecx; inc dword [0xa004]
      0xf7, 0x15, ...le32(0xa008), 0xf7, 0x1d, ...le32(0xa00c), //   not dword [0xa008]; neg dword [0xa00c]
      0xd1, 0x25, ...le32(0xa010), 0x49, ['jne', 'loop'], //         shl dword [0xa010], 1; dec ecx; jne loop
      0xa1, ...le32(0x9000), 0x01, 0x05, ...le32(0x9000), 0xf4, //   mov eax, [0x9000]; add [0x9000], eax; hlt
    ]);
    const run = (threshold: number | null, backend: JitBackend) => {
      const m = machine(code, threshold, false, null, backend);
      m.memory.write32(0x20000, 0x21000 | 3);
      for (let page = 0; page < 0x40; page++) m.memory.write32(0x21000 + page * 4, (page << 12) | (page === 9 ? 1 : 3));
      m.memory.write32(0x9000, 0x11223344);
      m.memory.write32(0xa00c, 7);
      m.memory.write32(0xa010, 3);
      const cr0 = 0x80010001; // PE, WP, PG
      m.cpu.regs.cr0 = cr0;
      m.cpu.regs.cr3 = 0x20000;
      m.cpu.mmu!.setPagingContext({ cr0: cr0 | 0, cr3: 0x20000, cr3Hi: 0, cr4: 0, efer: 0 });
      m.cpu.regs.gpr.r32[0] = 0x55;
      m.cpu.run(100000);
      return {
        state: [m.cpu.retired, m.cpu.regs.rip, m.cpu.regs.cr2, m.cpu.halted, ...m.cpu.regs.gpr.r32.subarray(0, 8)],
        memory: [m.memory.read32(0x9000), ...[0, 4, 8, 12, 16].map((o) => m.memory.read32(0xa000 + o))],
        stack: Array.from(m.memory.readBytes(0x7ff0, 0x10)),
        wasm: m.cpu.jit?.counters.wasm ?? 0,
      };
    };
    const a = run(null, 'wasm');
    // The loop's sums, and the fault: halted in the #PF handler (0x50e), CR2 = 0x9000, and on
    // the stack error code 3 (a write, to a present page) and the ADD's EIP (0x102d).
    expect(a.memory).toEqual([0x11223344, 1275, 50, 0, 7, (3 * 2 ** 50) % 2 ** 32]);
    expect([a.state[1], a.state[2], a.stack.slice(0, 5)]).toEqual([0x50f, 0x9000, [3, 0, 0, 0, 0x2d]]);
    const b = run(0, 'wasm');
    expect(b.wasm).toBeGreaterThan(0);
    expect(b).toEqual({ ...a, wasm: b.wasm });
  });

  it('never applies a WebAssembly translation made under other access masks (EFLAGS.AC cleared between calls)', () => {
    // ADD EAX, [0x9000] in a loop, 0x9000 a user page read at CPL 0 with CR4.SMAP set: allowed
    // while EFLAGS.AC is set (as after STAC). After 100 passes the host clears AC, which
    // changes the MMU's masks but flushes nothing, so the loop's translation is entered again:
    // it finds itself made for other masks (they are constants in its code) and is dropped,
    // and the read faults as the interpreter's does (#PF, error code 1: a read of a present page).
    const code = asm32([0xb9, ...le32(1000), ['jmp', 'loop'], 'loop', 0x03, 0x05, ...le32(0x9000), 0x49, ['jne', 'loop'], 0xf4]);
    const AC = 1 << 18;
    const run = (threshold: number | null) => {
      const m = machine(code, threshold, false, null, 'wasm');
      m.memory.write32(0x20000, 0x21000 | 7);
      for (let page = 0; page < 0x40; page++) m.memory.write32(0x21000 + page * 4, (page << 12) | (page === 9 ? 7 : 3));
      m.memory.write32(0x9000, 5);
      m.cpu.regs.cr0 = 0x80000001; // PE, PG
      m.cpu.regs.cr3 = 0x20000;
      m.cpu.regs.cr4 = 1 << 21; // SMAP
      m.cpu.mmu!.setPagingContext({ cr0: 0x80000001, cr3: 0x20000, cr3Hi: 0, cr4: 1 << 21, efer: 0 });
      const ac = (on: boolean) => {
        m.cpu.regs.flags.set(on ? m.cpu.regs.flags.get() | AC : m.cpu.regs.flags.get() & ~AC);
        syncPrivilege(m.cpu);
      };
      ac(true);
      m.cpu.run(2 + 3 * 100);
      ac(false);
      m.cpu.run(100000);
      return {
        state: [m.cpu.retired, m.cpu.regs.rip, m.cpu.regs.cr2, m.cpu.regs.gpr.r32[0], m.cpu.regs.gpr.r32[1], m.memory.read32(0x7ff0)],
        stale: m.cpu.jit?.counters.stale ?? 0,
        wasm: m.cpu.jit?.counters.wasm ?? 0,
      };
    };
    const a = run(null);
    expect(a.state.slice(1)).toEqual([0x50f, 0x9000, 500, 900, 1]);
    const b = run(0);
    expect(b.state).toEqual(a.state);
    expect(b.stale).toBe(1);
    expect(b.wasm).toBeGreaterThan(0);
  });

  it('translates a hot block again at its next run once its translation went stale, then only after a new threshold', () => {
    // ADD EAX, [0x8000] in a loop, a supervisor page, readable whatever EFLAGS.AC. Threshold 50:
    // translated in the first 100 passes (AC set), dropped when AC is cleared (other masks), and
    // translated again at once: not interpreted for another 50 passes (as CR4.SMAP, set once
    // at boot, would leave the kernel's hot translations). A second drop (AC set again) waits for
    // the threshold: code that runs under two states is not translated at every switch.
    const code = asm32([0xb9, ...le32(1000), ['jmp', 'loop'], 'loop', 0x03, 0x05, ...le32(0x8000), 0x49, ['jne', 'loop'], 0xf4]);
    const AC = 1 << 18;
    const m = machine(code, 50, false, null, 'wasm');
    m.memory.write32(0x20000, 0x21000 | 7);
    for (let page = 0; page < 0x40; page++) m.memory.write32(0x21000 + page * 4, (page << 12) | 3);
    m.memory.write32(0x8000, 2);
    m.cpu.regs.cr0 = 0x80000001;
    m.cpu.regs.cr3 = 0x20000;
    m.cpu.regs.cr4 = 1 << 21;
    m.cpu.mmu!.setPagingContext({ cr0: 0x80000001, cr3: 0x20000, cr3Hi: 0, cr4: 1 << 21, efer: 0 });
    const ac = (on: boolean) => {
      m.cpu.regs.flags.set(on ? m.cpu.regs.flags.get() | AC : m.cpu.regs.flags.get() & ~AC);
      syncPrivilege(m.cpu);
    };
    const jit = m.cpu.jit!;
    ac(true);
    m.cpu.run(2 + 3 * 100);
    expect([jit.counters.wasm, jit.counters.stale]).toEqual([1, 0]);
    ac(false);
    const interpretedBefore = m.cpu.retired - jit.counters.retired;
    m.cpu.run(3 * 100);
    expect([jit.counters.wasm, jit.counters.stale]).toEqual([2, 1]);
    // A pass or two interpreted (the run after the drop), the rest in the new translation.
    expect(m.cpu.retired - jit.counters.retired - interpretedBefore).toBeLessThanOrEqual(6);
    ac(true);
    const interpretedBeforeSecond = m.cpu.retired - jit.counters.retired;
    m.cpu.run(3 * 100);
    expect([jit.counters.wasm, jit.counters.stale]).toEqual([3, 2]);
    expect(m.cpu.retired - jit.counters.retired - interpretedBeforeSecond).toBeGreaterThanOrEqual(3 * 50);
    m.cpu.run(100000);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[0]).toBe(2000);
  });

  it('reads and writes unaligned words and dwords inside a page on the WebAssembly fast path, and splits those crossing a page through the host', () => {
    // 100 passes of: dword and word loads and stores at odd addresses inside page 0x3000, and a
    // dword load across the end of page 0x3000 (0x3ffe: two bytes in each page).
    const code = asm32([
      0xb9, ...le32(100), ['jmp', 'loop'], //           mov ecx, 100; jmp loop
      'loop', 0x8b, 0x05, ...le32(0x3001), //           mov eax, [0x3001]
      0x01, 0x05, ...le32(0x3105), //                   add [0x3105], eax
      0x66, 0x8b, 0x1d, ...le32(0x3203), //             mov bx, [0x3203]
      0x66, 0x89, 0x1d, ...le32(0x3307), //             mov [0x3307], bx
      0x03, 0x15, ...le32(0x3ffe), //                   add edx, [0x3ffe]
      0x49, ['jne', 'loop'], 0xf4, //                   dec ecx; jne loop; hlt
    ]);
    const run = (threshold: number | null) => {
      const m = machine(code, threshold, false, null, 'wasm');
      m.memory.writeBytes(0x3000, Uint8Array.from({ length: 0x1004 }, (_, i) => (i * 7 + 3) & 0xff));
      m.cpu.run(100000);
      return {
        state: [m.cpu.retired, m.cpu.regs.rip, ...m.cpu.regs.gpr.r32.subarray(0, 8)],
        memory: Array.from(m.memory.readBytes(0x3000, 0x1004)),
        slow: m.cpu.jit?.counters.slowAccesses ?? 0,
      };
    };
    const a = run(null);
    const b = run(0);
    expect({ ...b, slow: 0 }).toEqual({ ...a, slow: 0 });
    // Per pass, only the page-crossing load goes through the host: 100, plus the first pass's
    // TLB misses (pages 0x3000 and 0x4000, the latter's inside the crossing load).
    expect(b.slow).toBeGreaterThanOrEqual(100);
    expect(b.slow).toBeLessThanOrEqual(102);
  });

  it('counts the instructions retired inside translations (--stats)', () => {
    const code = COUNT_DOWN;
    // Threshold 50: MOV runs alone on the slow path (the TLB has no entry for the page yet);
    // the block from 0x1005 (ADD, DEC, JNE and HLT: a block goes on past a conditional branch)
    // runs 50 times interpreted, then its translation is entered and runs the other 50
    // iterations inside, and the HLT.
    const m = machine(code, 50);
    m.cpu.run(100000);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[0]).toBe(5050);
    expect(m.cpu.retired).toBe(1 + 100 * 3 + 1);
    expect(m.cpu.jit!.counters.retired).toBe(50 * 3 + 1);
    // At threshold 0 all but the MOV run translated.
    const all = machine(code, 0);
    all.cpu.run(100000);
    expect(all.cpu.retired).toBe(302);
    expect(all.cpu.jit!.counters.retired).toBe(301);
  });

  it('runs indirect CALL and JMP (register and memory targets) as the interpreter does', () => {
    const code = Array<number>(0x60).fill(0x90);
    code.splice(0, 24,
      0xbb, 0x64, 0x00, 0x00, 0x00, //       mov ebx, 100
      0xb8, 0x40, 0x10, 0x00, 0x00, //       mov eax, 0x1040            <- loop (0x1005)
      0xff, 0xd0, //                         call eax
      0xff, 0x15, 0x00, 0x30, 0x00, 0x00, // call [0x3000]
      0x4b, //                               dec ebx
      0x75, 0xea, //                         jne 0x1005
      0xff, 0x25, 0x04); //                  jmp [0x3004] (disp continues below)
    code.splice(24, 3, 0x30, 0x00, 0x00);
    code.splice(0x40, 3, 0x01, 0xde, 0xc3); // 0x1040: add esi, ebx; ret
    code[0x50] = 0xf4; //                      0x1050: hlt
    const runs = [null, 0].map((threshold) => {
      const m = machine(code, threshold);
      m.memory.write32(0x3000, 0x1040);
      m.memory.write32(0x3004, 0x1050);
      m.cpu.run(100000);
      return { cpu: m.cpu, stack: m.memory.readBytes(0x7ff0, 16) };
    });
    const [interp, jit] = runs;
    expect(interp.cpu.halted && jit.cpu.halted).toBe(true);
    expect(interp.cpu.regs.rip).toBe(0x1051);
    expect(interp.cpu.regs.gpr.r32[6]).toBe(2 * 5050);
    expect(jit.cpu.jit!.counters.entries).toBeGreaterThan(0);
    expect([jit.cpu.retired, jit.cpu.regs.rip, ...jit.cpu.regs.gpr.r32]).toEqual([interp.cpu.retired, interp.cpu.regs.rip, ...interp.cpu.regs.gpr.r32]);
    expect(Array.from(jit.stack)).toEqual(Array.from(interp.stack));
  });

  it('runs a loop that switches SS between a 32-bit and a 16-bit stack as the interpreter does', () => {
    const code = [
      0xbb, 0x18, 0x00, 0x00, 0x00, // mov ebx, 0x18 (a 16-bit data segment)
      0xb9, 0x10, 0x00, 0x00, 0x00, // mov ecx, 0x10 (flat 32-bit data)
      0x50, //                         push eax      <- loop (0x100a): the 32-bit stack, written directly
      0x8e, 0xd3, //                   mov ss, bx    (a handler: SS.B is 0 after it)
      0x90, //                         nop           (MOV SS holds interrupts for one instruction)
      0x50, //                         push eax      (through SP: ESP's high half stays)
      0x8e, 0xd1, //                   mov ss, cx
      0x90, //                         nop
      0x5a, //                         pop edx
      0x01, 0xd6, //                   add esi, edx
      0x5a, //                         pop edx
      0x01, 0xd7, //                   add edi, edx
      0x40, //                         inc eax
      0x83, 0xf8, 0x14, //             cmp eax, 20
      0x75, 0xea, //                   jne 0x100a
      0xf4,
    ];
    const runs = [null, 0].map((threshold) => {
      const m = machine(code, threshold);
      m.memory.write32(0x718, 0x0000ffff); // selector 0x18: base 0, limit 0xffff, data, B = 0
      m.memory.write32(0x71c, 0x00009200);
      m.cpu.regs.gdtLimit = 31;
      m.cpu.regs.gpr.r32[4] = 0x18000;
      m.cpu.run(100000);
      return { cpu: m.cpu, low: m.memory.readBytes(0x7ff0, 16), high: m.memory.readBytes(0x17ff0, 16) };
    });
    const [interp, jit] = runs;
    expect(interp.cpu.halted && jit.cpu.halted).toBe(true);
    // The 16-bit push wrote below 64 KiB (SP), the 32-bit one above it (ESP).
    expect(new DataView(interp.low.buffer).getUint32(8, true)).toBe(19);
    expect(new DataView(interp.high.buffer).getUint32(12, true)).toBe(19);
    expect(jit.cpu.jit!.counters.entries).toBeGreaterThan(0);
    expect([jit.cpu.retired, jit.cpu.regs.rip, ...jit.cpu.regs.gpr.r32]).toEqual([interp.cpu.retired, interp.cpu.regs.rip, ...interp.cpu.regs.gpr.r32]);
    expect(Array.from(jit.low)).toEqual(Array.from(interp.low));
    expect(Array.from(jit.high)).toEqual(Array.from(interp.high));
  });

  it('writes through DS with its base when a translation made while DS was flat runs with DS based', () => {
    const code = [
      0xbb, 0x18, 0x00, 0x00, 0x00, // mov ebx, 0x18 (data, base 0x4000, limit 4 GiB)
      0xbe, 0x00, 0x20, 0x00, 0x00, // mov esi, 0x2000
      0xe8, 0x0d, 0x00, 0x00, 0x00, // call fill        (DS flat: fill is translated in the flat form)
      0x8e, 0xdb, //                   mov ds, bx
      0xbe, 0x00, 0x20, 0x00, 0x00, // mov esi, 0x2000
      0xe8, 0x01, 0x00, 0x00, 0x00, // call fill        (the same translation, DS based)
      0xf4, //                         hlt
      0xb9, 0x0a, 0x00, 0x00, 0x00, // fill: mov ecx, 10
      0x89, 0x0e, //                   mov [esi], ecx   <- 0x1021
      0x83, 0xc6, 0x04, //             add esi, 4
      0x49, //                         dec ecx
      0x75, 0xf8, //                   jnz 0x1021
      0xc3, //                         ret
    ];
    const [interp, jit] = runWithBasedDs(code, 0, 40);
    const expected = Array.from({ length: 10 }, (_, k) => 10 - k);
    for (const bytes of [jit.flat, jit.based]) {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      expect(expected.map((_, k) => view.getUint32(4 * k, true))).toEqual(expected);
    }
    expect(jit.cpu.jit!.counters.retired).toBeGreaterThan(40);
    // The translation made with DS flat was dropped on entry with DS based, and made again.
    expect(jit.cpu.jit!.counters.stale).toBeGreaterThan(0);
    expectSameBasedDsRuns(jit, interp);
  });

  it('leaves a translation made with DS flat when a MOV DS inside it makes DS based', () => {
    // The loop is entered at its last block, which reaches the threshold first with DS flat:
    // its translation takes in the other two, whose DS accesses are written in the flat form.
    const code = [
      0xbb, 0x18, 0x00, 0x00, 0x00, // mov ebx, 0x18 (data, base 0x4000, limit 4 GiB)
      0xb9, 0x10, 0x00, 0x00, 0x00, // mov ecx, 0x10 (flat data)
      0xbe, 0xf8, 0x1f, 0x00, 0x00, // mov esi, 0x1ff8
      0xb8, 0xff, 0xff, 0xff, 0xff, // mov eax, -1
      0xeb, 0x09, //                   jmp 0x101f
      0x89, 0x06, //                   mov [esi], eax     <- 0x1016
      0x8e, 0xdb, //                   mov ds, bx         (a handler call: DS is based after it)
      0x89, 0x46, 0x04, //             mov [esi+4], eax   (the translation must not go on to this)
      0x8e, 0xd9, //                   mov ds, cx
      0x83, 0xc6, 0x08, //             add esi, 8         <- 0x101f
      0x40, //                         inc eax
      0x83, 0xf8, 0x1e, //             cmp eax, 30
      0x75, 0xee, //                   jne 0x1016
      0xf4,
    ];
    const sources: string[] = [];
    const [interp, jit] = runWithBasedDs(code, 20, 240, (c) => sources.push(c.source));
    const flat = new DataView(jit.flat.buffer, jit.flat.byteOffset);
    const based = new DataView(jit.based.buffer, jit.based.byteOffset);
    expect(Array.from({ length: 30 }, (_, k) => [flat.getUint32(8 * k, true), based.getUint32(8 * k + 4, true)])).toEqual(Array.from({ length: 30 }, (_, k) => [k, k]));
    expect(sources[0]).toMatch(/^\/\/ 3 blocks from 0x101f/);
    expect(jit.cpu.jit!.counters.retired).toBeGreaterThan(20);
    expectSameBasedDsRuns(jit, interp);
  });

  it('runs LOOP, LOOPE, LOOPNE and JCXZ (written directly) at both address sizes as the interpreter does', () => {
    const code = [
      0xb9, 0x32, 0x00, 0x00, 0x00, //       mov ecx, 50
      0x01, 0xce, //                         add esi, ecx                 <- 0x1005
      0xe2, 0xfc, //                         loop 0x1005
      0xb9, 0x64, 0x00, 0x00, 0x00, //       mov ecx, 100
      0x47, //                               inc edi                      <- 0x100e
      0x89, 0xf8, //                         mov eax, edi
      0xa9, 0x40, 0x00, 0x00, 0x00, //       test eax, 0x40
      0xe1, 0xf6, //                         loope 0x100e (ZF ends it at edi = 64)
      0x89, 0xcb, //                         mov ebx, ecx
      0xb9, 0x64, 0x00, 0x00, 0x00, //       mov ecx, 100
      0xbd, 0x1f, 0x00, 0x00, 0x00, //       mov ebp, 31
      0x45, //                               inc ebp                      <- 0x1024
      0xf7, 0xc5, 0x20, 0x00, 0x00, 0x00, // test ebp, 0x20
      0xe0, 0xf7, //                         loopne 0x1024 (ZF ends it at ebp = 64)
      0x89, 0xca, //                         mov edx, ecx
      0xb9, 0x03, 0x00, 0x01, 0x00, //       mov ecx, 0x10003
      0x83, 0xc6, 0x01, //                   add esi, 1                   <- 0x1034
      0x67, 0xe2, 0xfa, //                   loop 0x1034, counting in CX: ECX ends 0x10000
      0x67, 0xe3, 0x01, //                   jcxz 0x103e (CX is 0: taken)
      0xf4, //                               hlt (skipped)
      0xe3, 0x01, //                         jecxz 0x1041 (ECX is not 0: not taken)
      0x40, //                               inc eax
      0xf4,
    ];
    const { interp, jit } = both(code);
    const g = interp.cpu.regs.gpr.r32;
    expect(interp.cpu.halted && jit.cpu.halted).toBe(true);
    expect([g[0], g[1], g[2], g[3], g[6]]).toEqual([65, 0x10000, 67, 36, 50 * 51 / 2 + 3]);
    expect(jit.cpu.jit!.counters.entries).toBeGreaterThan(0);
    expect([jit.cpu.retired, jit.cpu.regs.rip, ...jit.cpu.regs.gpr.r32]).toEqual([interp.cpu.retired, interp.cpu.regs.rip, ...g]);
    expect(jit.cpu.regs.flags.get()).toBe(interp.cpu.regs.flags.get());
  });

  it('reads the TSC in a spin loop (RDTSC, RDTSCP, PAUSE written directly) as the interpreter does', () => {
    const code = [
      0xbb, 0x64, 0x00, 0x00, 0x00, // mov ebx, 100
      0x0f, 0x31, //                   rdtsc                    <- loop (0x1005)
      0x01, 0xc6, //                   add esi, eax
      0x0f, 0x01, 0xf9, //             rdtscp
      0x01, 0xc7, //                   add edi, eax
      0x01, 0xcd, //                   add ebp, ecx
      0x11, 0xd5, //                   adc ebp, edx
      0xf3, 0x90, //                   pause
      0x4b, //                         dec ebx
      0x75, 0xee, //                   jne 0x1005
      0xf4,
    ];
    for (const backend of ['js', 'wasm'] as const) {
      const { interp, jit } = both(code, false, 1_000_000, backend);
      // All 100 passes, to the HLT after the loop.
      expect([interp.cpu.halted, interp.cpu.regs.rip, interp.cpu.regs.gpr.r32[3], interp.cpu.retired]).toEqual([true, 0x1018, 0, 2 + 100 * 9]);
      expect(jit.cpu.jit!.counters.entries).toBeGreaterThan(0);
      // The WebAssembly backend writes all three itself: the loop is one WebAssembly
      // translation (only the final HLT's block is JavaScript).
      if (backend === 'wasm') {
        expect(jit.cpu.decodeCache!.lookup(0x1005, 32)!.compiled!.wasm).toBe(true);
        expect(jit.cpu.jit!.counters.compiled - jit.cpu.jit!.counters.wasm).toBe(1);
      }
      expect(jit.cpu.retired).toBe(interp.cpu.retired);
      expect(jit.cpu.stall).toBe(interp.cpu.stall);
      expect(Array.from(jit.cpu.regs.gpr.r32)).toEqual(Array.from(interp.cpu.regs.gpr.r32));
      // The sums differ from run to run of the loop only if the TSC advanced with the count.
      expect(interp.cpu.regs.gpr.r32[6]).not.toBe(0);
      // 200 reads in the translation, all but the first of its call without the host (the TSC
      // source counts cycles; PAUSE moves the base on).
      if (backend === 'wasm') expect(jit.cpu.jit!.counters.hostTimeStamps).toBeLessThanOrEqual(2);
    }
  });

  it('reads the TSC without the host from a source of 4 per cycle above 2^32, and through it from one not tied to cycles', () => {
    // The spin loop above, from a TSC 60 below 2^33: the low half wraps within the loop.
    const code = [
      0xbb, 0x64, 0x00, 0x00, 0x00, 0x0f, 0x31, 0x01, 0xc6, 0x0f, 0x01, 0xf9, 0x01, 0xc7, 0x01, 0xcd,
      0x11, 0xd5, 0xf3, 0x90, 0x4b, 0x75, 0xee, 0xf4,
    ];
    const run = (threshold: number | null, cycleShift: number | undefined) => {
      const m = machine(code, threshold, false, null, 'wasm');
      const source = cycleShift === undefined ? () => 2 ** 33 - 60 + Math.floor(m.cpu.cycles / 3) * 12 : () => 2 ** 33 - 60 + m.cpu.cycles * 4;
      attachCpuEnvironment(m.cpu, { tsc: source, tscCycleShift: cycleShift });
      m.cpu.run(1_000_000);
      expect([m.cpu.halted, m.cpu.regs.rip, m.cpu.retired]).toEqual([true, 0x1018, 2 + 100 * 9]);
      return m.cpu;
    };
    for (const cycleShift of [2, undefined]) {
      const interp = run(null, cycleShift);
      const jit = run(0, cycleShift);
      expect(jit.decodeCache!.lookup(0x1005, 32)!.compiled!.wasm).toBe(true);
      expect(jit.retired).toBe(interp.retired);
      expect(Array.from(jit.regs.gpr.r32)).toEqual(Array.from(interp.regs.gpr.r32));
      // EDX, the high half: 1 at the first read, 2 after the wrap.
      expect(interp.regs.gpr.r32[2]).toBe(2);
      const hostReads = jit.jit!.counters.hostTimeStamps;
      if (cycleShift === undefined) expect(hostReads).toBe(200);
      else expect(hostReads).toBeLessThanOrEqual(2);
    }
  });

  it('pushes EFLAGS with PUSHF after flag-setting instructions as the interpreter does, in a WebAssembly translation', () => {
    const code = [
      0xb9, 0x40, 0x00, 0x00, 0x00, // mov ecx, 64
      0xb8, 0x00, 0x00, 0x00, 0xf8, // mov eax, 0xf8000000
      0x01, 0xc8, //                   add eax, ecx             <- loop (0x100a)
      0x9c, //                         pushf
      0x5a, //                         pop edx
      0x01, 0xd6, //                   add esi, edx
      0xc1, 0xe0, 0x01, //             shl eax, 1 (CF, SF, ZF, PF, OF change each time)
      0x9c, //                         pushf
      0x5b, //                         pop ebx
      0x31, 0xdf, //                   xor edi, ebx
      0x49, //                         dec ecx
      0x75, 0xf0, //                   jne 0x100a
      0x9c, //                         pushf
      0x5d, //                         pop ebp
      0xf4,
    ];
    const interp = machine(code, null);
    const javascript: number[] = [];
    const jit = machine(code, 0, false, (c) => { if (!(c as CompiledBlock).wasm) javascript.push((c as CompiledBlock).ip); }, 'wasm');
    interp.cpu.run(1_000_000);
    jit.cpu.run(1_000_000);
    // The only JavaScript translation is the final HLT's (a block of its own: the WebAssembly
    // translation before it ends there); none starts at a PUSHF.
    expect(jit.cpu.jit!.counters.wasm).toBeGreaterThan(0);
    expect(javascript).toEqual([0x101c]);
    expect(jit.cpu.retired).toBe(interp.cpu.retired);
    expect(Array.from(jit.cpu.regs.gpr.r32)).toEqual(Array.from(interp.cpu.regs.gpr.r32));
    expect(jit.cpu.regs.flags.get()).toBe(interp.cpu.regs.flags.get());
    // The pushed values had flags set (bit 1 is always 1, and the sum is not just 64 of them).
    expect(interp.cpu.regs.gpr.r32[6]).not.toBe(64 * 2);
  });

  it('counts PAUSE as 140 cycles of the TSC, and a NOP as one, interpreted and translated', () => {
    for (const backend of ['js', 'wasm'] as const) {
      // rdtsc; mov esi, eax; <pause | nop>; rdtsc; sub eax, esi; hlt
      const run = (spin: number[]) => both([0x0f, 0x31, 0x89, 0xc6, ...spin, 0x0f, 0x31, 0x29, 0xf0, 0xf4], false, 1_000_000, backend);
      const paused = run([0xf3, 0x90]);
      const nop = run([0x90]);
      expect(nop.interp.cpu.regs.gpr.r32[0]).toBe(3);
      expect(nop.jit.cpu.regs.gpr.r32[0]).toBe(3);
      expect(paused.interp.cpu.regs.gpr.r32[0]).toBe(2 + PAUSE_CYCLES);
      expect(paused.jit.cpu.regs.gpr.r32[0]).toBe(2 + PAUSE_CYCLES);
      expect(paused.jit.cpu.stall).toBe(PAUSE_CYCLES - 1);
      expect(paused.jit.cpu.jit!.counters.entries).toBeGreaterThan(0);
    }
  });

  it('counts each port access (IN, OUT, every INS/OUTS element) as PORT_ACCESS_CYCLES of the TSC, interpreted and translated', () => {
    // rdtsc; mov esi, eax; <accesses>; rdtsc; sub eax, esi; hlt (EDI=0x3000 for INS, ESI is
    // the TSC, so OUTSB reads from wherever it points: only the count matters)
    const run = (accesses: number[], backend: JitBackend) => both([0xbf, 0x00, 0x30, 0x00, 0x00, 0x0f, 0x31, 0x89, 0xc6, ...accesses, 0x0f, 0x31, 0x29, 0xf0, 0xf4], false, 1_000_000, backend);
    const cases: [string, number[], number, number][] = [
      ['nop', [0x90], 1, 0],
      ['in al, 0x61', [0xe4, 0x61], 1, 1],
      ['out 0x80, al', [0xe6, 0x80], 1, 1],
      ['in eax, dx; out dx, al', [0xed, 0xee], 2, 2],
      ['mov ecx, 3; rep insb', [0xb9, 0x03, 0x00, 0x00, 0x00, 0xf3, 0x6c], 2, 3],
    ];
    for (const [what, bytes, instructions, accesses] of cases) for (const backend of ['js', 'wasm'] as const) {
      const r = run(bytes, backend);
      const expected = 2 + instructions + accesses * (PORT_ACCESS_CYCLES - 1);
      expect([what, r.interp.cpu.regs.gpr.r32[0]]).toEqual([what, expected]);
      expect([what, r.jit.cpu.regs.gpr.r32[0]]).toEqual([what, expected]);
      expect(r.jit.cpu.jit!.counters.entries).toBeGreaterThan(0);
    }
  });

  it('ends the burst at the PAUSE that uses up its time (stallStop), interpreted and translated alike', () => {
    // A spin loop: pause; dec ecx; jnz; 10,000 times, then HLT.
    const code = [0xb9, 0x10, 0x27, 0x00, 0x00, 0xf3, 0x90, 0x49, 0x75, 0xfb, 0xf4];
    for (const [threshold, backend] of [[null, 'js'], [0, 'js'], [0, 'wasm']] as const) {
      const { cpu } = machine(code, threshold, false, null, backend);
      // The burst has time for 5,000 instructions: the loop's iteration is 3 instructions and
      // 142 cycles, so the 36th PAUSE reaches it.
      cpu.stallStop = cpu.cycles + 5000;
      const ran = cpu.run(1_000_000);
      expect(cpu.halted).toBe(false);
      expect(ran).toBe(1 + 35 * 3 + 1);
      if (backend === 'wasm') expect(cpu.jit!.counters.wasm).toBe(cpu.jit!.counters.compiled);
      expect(cpu.cycles).toBeGreaterThanOrEqual(5000);
      expect(cpu.cycles).toBeLessThan(5000 + PAUSE_CYCLES);
      // Without a budget the loop runs to its end.
      cpu.stallStop = Infinity;
      cpu.run(1_000_000);
      expect(cpu.halted).toBe(true);
      expect(cpu.regs.gpr.r32[1]).toBe(0);
      expect(cpu.stall).toBe(10_000 * (PAUSE_CYCLES - 1));
    }
  });

  it('stops after an MMIO read whose device asked the run loop to stop, at the interpreter\'s boundary', () => {
    const code = [
      0x90, 0x90, //                         nop; nop (the first fetch fills the TLB)
      0xa1, 0x00, 0x00, 0x20, 0x00, //       mov eax, [0x200000]: the device below
      0x43, 0x43, //                         inc ebx; inc ebx
      0xf4,
    ];
    const runs = ([[null, 'js'], [0, 'js'], [0, 'wasm']] as const).map(([threshold, backend]) => {
      const m = machine(code, threshold, false, null, backend);
      // A device whose read raises an interrupt line, as a status register read might.
      m.mmio.register(0x200000, 0x1000, { name: 'stopping-device', read: () => (m.cpu.stopAfterInstruction(), 7), write: () => {} }, [4]);
      m.cpu.run(100);
      const r = m.cpu.regs;
      return { eax: r.gpr.r32[0], ebx: r.gpr.r32[3], rip: r.rip, retired: m.cpu.retired, entries: m.cpu.jit?.counters.entries ?? 0 };
    });
    expect(runs[0]).toEqual({ eax: 7, ebx: 0, rip: 0x1007, retired: 3, entries: 0 });
    expect(runs[1]).toEqual({ ...runs[0], entries: 1 });
    // A WebAssembly translation leaves before the MMIO read (a slow exit) and the host runs it,
    // so the stop comes where the interpreter's does.
    expect(runs[2]).toEqual({ ...runs[0], entries: 1 });
  });

  it('frees the table slot of a WebAssembly translation nothing holds any more (the runtime keeps none alive)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const m = machine(SUM_LOOP, 0, false, null, 'wasm');
    m.cpu.run(1_000_000);
    expect(m.cpu.jit!.counters.wasm).toBeGreaterThan(0);
    const runtime = WasmRuntime.of(m.cpu.mmu!)!;
    const freeSlots = (): number => (runtime as unknown as { freeSlots: number[] }).freeSlots.length;
    const before = freeSlots();
    m.cpu.flushDecodeCache();
    // FinalizationRegistry callbacks run after a collection, on a later turn of the event loop.
    for (let i = 0; i < 10 && freeSlots() === before; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(freeSlots()).toBeGreaterThan(before);
  });

  it('runs an MMIO read polled in a loop once per pass: slow exits first, then a translation made again with host calls', () => {
    const code = asm32([
      0xb9, ...le32(300), //                    mov ecx, 300
      'loop',
      0xa1, ...le32(0x200000), //               mov eax, [0x200000]: the device below
      0x01, 0xc3, //                            add ebx, eax
      0x49, ['jne', 'loop'], //                 dec ecx; jne loop
      0xf4, //                                  hlt
    ]);
    const runs = ([[null, 'js'], [0, 'wasm']] as const).map(([threshold, backend]) => {
      const m = machine(code, threshold, false, null, backend);
      let reads = 0;
      // A device whose every read returns something new, so a read made twice or skipped shows.
      m.mmio.register(0x200000, 0x1000, { name: 'counter', read: () => ++reads * 3, write: () => {} }, [4]);
      m.cpu.run(100_000);
      const j = m.cpu.jit?.counters;
      return { state: { ebx: m.cpu.regs.gpr.r32[3], rip: m.cpu.regs.rip, retired: m.cpu.retired, halted: m.cpu.halted, reads }, slowAccesses: j?.slowAccesses ?? 0, slowHeavy: j?.slowHeavy ?? 0 };
    });
    expect(runs[0].state).toEqual({ ebx: 3 * (300 * 301) / 2, rip: 0x1010, retired: 1 + 4 * 300 + 1, halted: true, reads: 300 });
    expect(runs[1].state).toEqual(runs[0].state);
    // Every read went through the host; a read every 4 instructions is far under SLOW_EXIT_SPACING.
    expect(runs[1].slowAccesses).toBe(300);
    expect(runs[1].slowHeavy).toBeGreaterThanOrEqual(1);
  });

  it('stops a WebAssembly translation right after a write to a code page (the next instruction may be the one rewritten)', () => {
    // mov byte [0x100b], 0x42 rewrites the immediate of the MOV EBX after it: the new bytes run.
    const code = [
      0x90, 0x90, //                         nop; nop
      0xc6, 0x05, 0x0b, 0x10, 0x00, 0x00, 0x42, // mov byte [0x100b], 0x42
      0x90, //                               nop
      0xbb, 0x01, 0x00, 0x00, 0x00, //       mov ebx, 1 (its immediate's low byte is at 0x100b)
      0xf4,
    ];
    const runs = ([[null, 'js'], [0, 'wasm']] as const).map(([threshold, backend]) => {
      const m = machine(code, threshold, false, null, backend);
      m.cpu.run(100);
      return { ebx: m.cpu.regs.gpr.r32[3], rip: m.cpu.regs.rip, retired: m.cpu.retired };
    });
    expect(runs[0]).toEqual({ ebx: 0x42, rip: 0x1010, retired: 6 });
    expect(runs[1]).toEqual(runs[0]);
  });

  it('translates a hot loop and leaves registers, memory and counts exactly as the interpreter does', () => {
    const { interp, jit } = both(SUM_LOOP);
    expect(jit.cpu.halted).toBe(true);
    expect(jit.cpu.regs.gpr.r32[0]).toBe(3 * 500500);
    expect([...jit.cpu.regs.gpr.r32]).toEqual([...interp.cpu.regs.gpr.r32]);
    expect(jit.cpu.regs.flags.get()).toBe(interp.cpu.regs.flags.get());
    expect(jit.memory.read32(0x2000 + 4 * 7)).toBe(interp.memory.read32(0x2000 + 4 * 7));
    expect(jit.cpu.retired).toBe(interp.cpu.retired);
    expect(jit.cpu.regs.rip).toBe(interp.cpu.regs.rip);
    const c = jit.cpu.jit!.counters;
    expect(c.compiled).toBeGreaterThan(0);
    expect(c.inlined).toBeGreaterThan(0);
    expect(c.entries).toBeGreaterThan(0);
    // The loop runs inside its translation: far fewer entries than iterations.
    expect(c.entries).toBeLessThan(100);
  });

  it('stops inside a translated loop at the caller\'s instruction budget', () => {
    for (const budget of [1, 7, 100, 1234]) {
      const a = machine(SUM_LOOP, null);
      const b = machine(SUM_LOOP, 0);
      expect(b.cpu.run(budget)).toBe(a.cpu.run(budget));
      expect(b.cpu.retired).toBe(budget);
      expect(b.cpu.regs.rip).toBe(a.cpu.regs.rip);
      expect([...b.cpu.regs.gpr.r32]).toEqual([...a.cpu.regs.gpr.r32]);
    }
  });

  it('ends a flexible burst before a translation that does not fit instead of interpreting its start', () => {
    const interp = machine(SUM_LOOP, null);
    interp.cpu.run(1_000_000);
    // What one long run interprets (the block that halts): bursts should add nothing to it.
    const whole = machine(SUM_LOOP, 0);
    whole.cpu.run(1_000_000);
    const interpretedInOneRun = whole.cpu.retired - whole.cpu.jit!.counters.retired;
    for (const flexibleEnd of [false, true]) {
      const b = machine(SUM_LOOP, 0);
      const bursts: number[] = [];
      while (!b.cpu.halted && bursts.length < 10_000) bursts.push(b.cpu.run(100, flexibleEnd));
      expect(b.cpu.halted).toBe(true);
      expect([b.cpu.retired, b.cpu.regs.rip, ...b.cpu.regs.gpr.r32]).toEqual([interp.cpu.retired, interp.cpu.regs.rip, ...interp.cpu.regs.gpr.r32]);
      expect(Math.max(...bursts)).toBeLessThanOrEqual(100);
      const interpreted = b.cpu.retired - b.cpu.jit!.counters.retired;
      if (flexibleEnd) {
        // Every burst ended at a translation's start: nothing interpreted beyond one long run.
        expect(interpreted).toBe(interpretedInOneRun);
        expect(bursts.some((n) => n < 100)).toBe(true);
        // Short by less than the loop's translation (6 instructions), never more.
        expect(bursts.slice(0, -1).every((n) => n > 94)).toBe(true);
      } else {
        // Each burst ran exactly 100: the loop's 6 instructions do not divide it, so burst ends
        // interpreted the start of the loop block.
        expect(bursts.slice(0, -1).every((n) => n === 100)).toBe(true);
        expect(interpreted).toBeGreaterThan(interpretedInOneRun);
      }
    }
  });

  it('delivers a fault in the middle of a translated block with the faulting instruction\'s EIP', () => {
    const code = [
      0xb8, 0x11, 0x00, 0x00, 0x00, // 1000 mov eax, 0x11
      0xbb, 0x22, 0x00, 0x00, 0x00, // 1005 mov ebx, 0x22
      0x31, 0xd2, //                   100a xor edx, edx
      0xf7, 0xf2, //                   100c div edx  -> #DE
      0xb9, 0x33, 0x00, 0x00, 0x00, // 100e mov ecx, 0x33 (never runs)
      0xf4,
    ];
    const { interp, jit } = both(code);
    expect(jit.cpu.lastException).toBe(0);
    expect(jit.cpu.regs.gpr.r32[3]).toBe(0x22);
    expect(jit.cpu.regs.gpr.r32[1]).toBe(0);
    // The #DE frame: EIP of the DIV, then CS and EFLAGS.
    expect(jit.memory.read32(0x8000 - 12)).toBe(0x100c);
    expect(jit.cpu.retired).toBe(interp.cpu.retired);
    expect([...jit.cpu.regs.gpr.r32]).toEqual([...interp.cpu.regs.gpr.r32]);
  });

  it('runs the new bytes when a translated block rewrites its own next instruction', () => {
    const code = [
      0x90, //                                     1000 nop
      0xc6, 0x05, 0x08, 0x10, 0x00, 0x00, 0x4b, // 1001 mov byte [0x1008], 0x4b
      0x43, //                                     1008 inc ebx -> dec ebx
      0xf4,
    ];
    const { jit } = both(code);
    expect(jit.cpu.halted).toBe(true);
    expect(jit.cpu.regs.gpr.r32[3]).toBe(-1);
  });

  it('runs 16-bit real-mode code translated, wrapping IP arithmetic at 64 KiB', () => {
    const code = [
      0x31, 0xc0, //       xor ax, ax
      0xb9, 0x64, 0x00, // mov cx, 100
      0x01, 0xc8, //       add ax, cx   <- loop
      0xe2, 0xfc, //       loop -4
      0xf4,
    ];
    const { interp, jit } = both(code, true);
    expect(jit.cpu.regs.gpr.r16[0]).toBe(5050);
    expect(jit.cpu.retired).toBe(interp.cpu.retired);
    expect(jit.cpu.jit!.counters.compiled).toBeGreaterThan(0);
  });

  it('keeps translating a loop whose blocks share a decode-cache slot with the routine it calls', () => {
    // The loop's CALL block at 0x1005 and the routine at 0x41005 fall in the same slot (the
    // backing offsets differ by a multiple of DECODE_CACHE_SLOTS): both must stay cached, or
    // each iteration would decode them again and neither would ever be hot.
    const far = 0x41005;
    const rel = far - 0x100a;
    const code = [0xb9, 0xe8, 0x03, 0x00, 0x00, 0xe8, rel & 0xff, (rel >> 8) & 0xff, (rel >> 16) & 0xff, rel >>> 24, 0x49, 0x75, 0xf8, 0xf4];
    expect((far - 0x1005) % DECODE_CACHE_SLOTS).toBe(0);
    const { cpu, memory } = machine(code, 10);
    memory.writeBytes(far, Uint8Array.from([0x83, 0xc0, 0x01, 0xc3])); // add eax, 1; ret
    cpu.run(100_000);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r32[0]).toBe(1000);
    expect(cpu.decodeCache!.counters.misses).toBeLessThan(10);
    expect(cpu.jit!.counters.compiled).toBeGreaterThan(0);
  });

  it('keeps the interpreter below the threshold and translates once it is passed', () => {
    const { cpu } = machine(SUM_LOOP, 1_000_000);
    cpu.run(1_000_000);
    expect(cpu.regs.gpr.r32[0]).toBe(3 * 500500);
    expect(cpu.jit!.counters.compiled).toBe(0);
  });

  it('branches between the blocks of one multi-block translation (--jit-blocks) as the interpreter runs them', () => {
    // A loop with an if/else and a call into the same page: five blocks.
    const code = [
      0x31, 0xc0, //                   xor eax, eax
      0xb9, 0xe8, 0x03, 0x00, 0x00, // mov ecx, 1000
      0xf6, 0xc1, 0x01, //             test cl, 1            <- loop (0x1007)
      0x74, 0x05, //                   jz 0x1011
      0x83, 0xc0, 0x03, //             add eax, 3
      0xeb, 0x03, //                   jmp 0x1014
      0x83, 0xc0, 0x07, //             add eax, 7            (0x1011)
      0xe8, 0x07, 0x00, 0x00, 0x00, // call 0x1020          (0x1014)
      0x49, //                         dec ecx
      0x75, 0xeb, //                   jne 0x1007
      0xf4, 0x90, 0x90, 0x90, //       hlt
      0x01, 0xc3, //                   add ebx, eax          (0x1020)
      0xc3, //                         ret
    ];
    const { a, b, sources } = withMultiBlockJit(code);
    expect(b.cpu.halted).toBe(true);
    expect(b.cpu.regs.gpr.r32[0]).toBe(5000);
    expect([...b.cpu.regs.gpr.r32]).toEqual([...a.cpu.regs.gpr.r32]);
    expect(b.cpu.regs.flags.get()).toBe(a.cpu.regs.flags.get());
    expect(b.cpu.retired).toBe(a.cpu.retired);
    expect(sources.some((s) => /^\/\/ [2-8] blocks from/.test(s))).toBe(true);
  });

  it('drops a multi-block translation when code writes over one of its other blocks', () => {
    const code = [
      0x31, 0xc0, //                   xor eax, eax
      0xb9, 0xc8, 0x00, 0x00, 0x00, // mov ecx, 200
      0xe8, 0x14, 0x00, 0x00, 0x00, // call 0x1020          <- loop (0x1007)
      0x83, 0xf9, 0x64, //             cmp ecx, 100
      0x75, 0x07, //                   jne 0x1018
      0xc6, 0x05, 0x22, 0x10, 0x00, 0x00, 0x05, // mov byte [0x1022], 5: the callee now adds 5
      0x49, //                         dec ecx               (0x1018)
      0x75, 0xec, //                   jne 0x1007
      0xf4, 0x90, 0x90, 0x90, 0x90, // hlt
      0x83, 0xc0, 0x01, //             add eax, 1            (0x1020)
      0xc3, //                         ret
    ];
    const { a, b, sources } = withMultiBlockJit(code);
    expect(b.cpu.halted).toBe(true);
    // 101 calls before the write add 1, the 99 after it add 5.
    expect(b.cpu.regs.gpr.r32[0]).toBe(101 + 99 * 5);
    expect([...b.cpu.regs.gpr.r32]).toEqual([...a.cpu.regs.gpr.r32]);
    expect(b.cpu.retired).toBe(a.cpu.retired);
    expect(sources.some((s) => /^\/\/ [2-8] blocks from/.test(s))).toBe(true);
  });

  it('follows a code page remapped by INVLPG and keeps its links across INVLPGs of data pages, under both backends', () => {
    // Paging on: 0-1 MiB identity mapped, except linear 0x3000 (the routine the loop calls),
    // mapped to frame 0x20000 (add eax, 1) until the loop, at ECX = 100, points its PTE at frame
    // 0x21000 (add eax, 100) and INVLPGs it. Every iteration also writes a data page and INVLPGs
    // that: nothing translated lies there, so the translations' links and the jump cache stay.
    const PD = 0x10000, PT = 0x11000, PTE_3000 = PT + 3 * 4;
    const code = asm32([
      0x31, 0xc0, //                                        xor eax, eax
      0xb9, ...le32(200), //                                mov ecx, 200
      'loop',
      ['call', 'routine'],
      0x89, 0x0d, ...le32(0x5000), //                       mov [0x5000], ecx
      0x0f, 0x01, 0x3d, ...le32(0x5000), //                 invlpg [0x5000]
      0x83, 0xf9, 0x64, //                                  cmp ecx, 100
      ['jne', 'next'],
      0xc7, 0x05, ...le32(PTE_3000), ...le32(0x21003), //   mov dword [PTE], 0x21003
      0x0f, 0x01, 0x3d, ...le32(0x3000), //                 invlpg [0x3000]
      'next',
      0x49, //                                              dec ecx
      ['jne', 'loop'],
      0xf4, //                                              hlt
      ['pad', '0x3000'],
      'routine',
    ]);
    const run = (threshold: number | null, backend: JitBackend) => {
      const m = machine(code, threshold, false, null, backend);
      const { cpu, memory } = m;
      memory.write32(PD, PT | 3);
      for (let p = 0; p < 256; p++) memory.write32(PT + p * 4, (p << 12) | 3);
      memory.write32(PTE_3000, 0x20003);
      memory.writeBytes(0x20000, Uint8Array.from([0x83, 0xc0, 0x01, 0xc3])); // add eax, 1; ret
      memory.writeBytes(0x21000, Uint8Array.from([0x83, 0xc0, 0x64, 0xc3])); // add eax, 100; ret
      const s = cpu.regs.save();
      s.cr0 = 0x80000001n;
      s.cr3 = BigInt(PD);
      cpu.regs.load(s);
      cpu.mmu!.setPagingContext({ cr0: 0x80000001 | 0, cr3: PD, cr3Hi: 0, cr4: 0, efer: 0 });
      cpu.run(100_000);
      expect(cpu.halted).toBe(true);
      return { eax: cpu.regs.gpr.r32[0], retired: cpu.retired, generation: cpu.mmu!.tlb.generation, jit: cpu.jit };
    };
    const interp = run(null, 'js');
    // 101 calls (ECX 200 down to 100) before the remap, 99 after it.
    expect(interp.eax).toBe(101 + 99 * 100);
    for (const backend of ['js', 'wasm'] as const) {
      const jit = run(0, backend);
      expect([jit.eax, jit.retired], backend).toEqual([interp.eax, interp.retired]);
      expect(jit.jit!.counters.compiled, backend).toBeGreaterThan(0);
      // One generation for the remap of the code page, none for the 200 data-page INVLPGs.
      expect(jit.generation, backend).toBeLessThanOrEqual(2);
    }
  });

  it('refuses a blocks-per-translation count outside 1-8', () => {
    expect(() => new Jit({ blocks: 0 })).toThrow(RangeError);
    expect(() => new Jit({ blocks: 9 })).toThrow(RangeError);
  });

  it('keeps a block it fails to translate interpreted, counts it and runs on correctly', () => {
    const cache = new DecodeCache();
    const bytes = new Uint8Array(0x2000);
    bytes.set([0xfc, 0xf4], 0x1000); // cld; hlt (CLD keeps its handler, inlined from source)
    const block = cache.build(bytes, 0x1000, 0x1000, 32, false, 1)!;
    // A handler whose source, once inlined, is not JavaScript: what a JIT bug would produce.
    const broken: Handler = () => {};
    broken.toString = () => 'function broken(cpu, insn) { ) }';
    block.insns[0].handler = broken;
    const reasons: string[] = [];
    const jit = new Jit({ threshold: 0, onFailure: (reason) => reasons.push(reason) });
    const result = jit.compile(block, 0x1000);
    expect(Number.isNaN(result.ip)).toBe(true);
    expect(block.compiled).toBe(result);
    expect(jit.counters.failures).toBe(1);
    expect(jit.counters.compiled).toBe(0);
    expect(reasons[0]).toMatch(/^SyntaxError/);
  });

  it('matches the golden translation of a small block (review codegen changes here)', async () => {
    const { cpu } = machine(SUM_LOOP, 0);
    const sources: string[] = [];
    cpu.jit = new Jit({ threshold: 0, backend: 'js', onCompile: (c) => sources.push(c.source) });
    cpu.run(100);
    await expect(sources.join('\n\n// ----\n\n') + '\n').toMatchFileSnapshot('./golden/sum-loop.js.txt');
  });
});

/**
 * The translation of `bytes` decoded as one block at `ip` in `mode` (no CPU needed); 32-bit
 * code with flat segments, as a 32-bit kernel runs (real mode: segments with bases).
 */
function translation(bytes: number[], ip: number, mode: 16 | 32): string {
  const cache = new DecodeCache();
  const backing = new Uint8Array(0x3000);
  backing.set(bytes, 0x1000 + (ip & 0xfff));
  const block = cache.build(backing, 0x1000 + (ip & 0xfff), ip, mode, mode === 16, 1)!;
  return generateBlockSource(block, ip, true, true, true, mode === 32 ? ALL_SEGMENTS_FLAT : 0, dataAccessMasks(false, false)).source;
}

const ALL_SEGMENTS_FLAT = 0x3f;

describe('JIT golden translations (review codegen changes here)', () => {
  const cases: [string, number[], number, 16 | 32][] = [
    ['loop-memory-branch', [
      0x8b, 0x44, 0x8b, 0x08, // mov eax,[ebx+ecx*4+8]
      0x01, 0xd0, //             add eax,edx
      0x89, 0x06, //             mov [esi],eax
      0x41, //                   inc ecx
      0x39, 0xf9, //             cmp ecx,edi
      0x72, 0xf3, //             jb start
      0xc3, //                   ret
    ], 0x401000, 32],
    ['real-mode-strings', [
      0xac, //       lodsb
      0x34, 0x20, // xor al,0x20
      0xaa, //       stosb
      0xe2, 0xfa, // loop start
      0xcb, //       retf
    ], 0x7c00, 16],
    ['prologue-call', [
      0x55, //                         push ebp
      0x89, 0xe5, //                   mov ebp,esp
      0x83, 0xec, 0x10, //             sub esp,0x10
      0xe8, 0x00, 0x01, 0x00, 0x00, // call +0x100
    ], 0x401100, 32],
    ['multiply-shift', [
      0x0f, 0xaf, 0xc1, //       imul eax,ecx
      0xc1, 0xea, 0x10, //       shr edx,0x10
      0x0f, 0xb7, 0xca, //       movzx ecx,dx
      0x8d, 0x04, 0x50, //       lea eax,[eax+edx*2]
      0xc3, //                   ret
    ], 0x401200, 32],
  ];
  for (const [name, bytes, ip, mode] of cases) {
    it(name, async () => {
      await expect(translation(bytes, ip, mode) + '\n').toMatchFileSnapshot(`./golden/${name}.js.txt`);
    });
  }
});

describe('JIT inlining scope', () => {
  it('no module with run-loop handlers declares a private name that the inlining scope exports', () => {
    const scopeNames = new Set(Object.values(INLINE_SCOPE).flatMap((ns) => Object.keys(ns)));
    const files = ['generated/alu-forms.ts', 'interp/handlers/data.ts', 'interp/handlers/alu.ts', 'interp/handlers/shift.ts',
      'interp/handlers/muldiv.ts', 'interp/handlers/stack-ops.ts', 'interp/handlers/control.ts', 'interp/handlers/string.ts',
      'interp/handlers/bitops.ts', 'interp/handlers/atomics.ts', 'interp/handlers/bcd.ts', 'interp/handlers/system.ts'];
    const clashes: string[] = [];
    for (const f of files) {
      const src = readFileSync(new URL(`../../src/${f}`, import.meta.url), 'utf8');
      // A module's own exports are the bindings the scope holds; a private name must not clash.
      for (const m of src.matchAll(/^(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)/gm)) {
        if (scopeNames.has(m[1])) clashes.push(`${f}: ${m[1]}`);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('treats as register-only only scope functions whose source touches no memory, I/O, RIP or run-loop state', () => {
    const scope = INLINE_SCOPE as unknown as Record<string, Record<string, unknown>>;
    const impure: string[] = [];
    for (const qualified of PURE_CALLS) {
      const [mod, name] = qualified.split('.');
      const value = scope[mod][name];
      expect(value, qualified).toBeDefined();
      if (typeof value !== 'function') continue;
      const src = value.toString();
      if (/\.mem\b|memoryLinear|\.io\b|\brip\b|retired|pendingEvents|halted|push\d|pop\d|\.mmu\b/.test(src)) impure.push(qualified);
    }
    expect(impure).toEqual([]);
    expect(PURE_CALLS.size).toBeGreaterThan(40);
  });
});
