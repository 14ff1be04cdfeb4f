// WebAssembly translations' same-page memos (jit/wasm/context.ts): an access off the same
// register as an earlier one in the page takes that one's RAM address plus the difference. Each
// test maps two neighbouring linear pages to frames far apart, so a memo used across the page
// boundary would read or write the wrong frame, and compares the JIT (threshold 0) with the
// interpreter: registers, retired count and both frames.
import { describe, expect, it } from 'vitest';
import { asm32, le32, machine } from './jit-machine.js';

const PD = 0x20000;
const PT = 0x21000;
/** Linear pages 0x6000 and 0x7000 live in these frames (identity mapping elsewhere). */
const LOW_FRAME = 0x30000;
const HIGH_FRAME = 0x48000;

function run(code: number[], threshold: number | null, setup: (regs: Int32Array) => void = () => {}) {
  const m = machine(code, threshold, false, null, 'wasm');
  m.memory.write32(PD, PT | 3);
  for (let page = 0; page < 0x100; page++) m.memory.write32(PT + page * 4, (page << 12) | 3);
  m.memory.write32(PT + 6 * 4, LOW_FRAME | 3);
  m.memory.write32(PT + 7 * 4, HIGH_FRAME | 3);
  for (let i = 0; i < 0x400; i++) {
    m.memory.write32(LOW_FRAME + i * 4, (i * 0x9e3779b9) >>> 0);
    m.memory.write32(HIGH_FRAME + i * 4, (i * 0x85ebca6b + 1) >>> 0);
  }
  m.cpu.regs.cr0 = 0x80000001;
  m.cpu.regs.cr3 = PD;
  m.cpu.mmu!.setPagingContext({ cr0: 0x80000001, cr3: PD, cr3Hi: 0, cr4: 0, efer: 0 });
  setup(m.cpu.regs.gpr.r32);
  m.cpu.run(1_000_000);
  return {
    halted: m.cpu.halted,
    retired: m.cpu.retired,
    regs: Array.from(m.cpu.regs.gpr.r32.subarray(0, 8)),
    low: Array.from(m.memory.readBytes(LOW_FRAME, 0x1000)),
    high: Array.from(m.memory.readBytes(HIGH_FRAME, 0x1000)),
    wasm: m.cpu.jit?.counters.wasm ?? 0,
    slowAccesses: m.cpu.jit?.counters.slowAccesses ?? 0,
    slowHeavy: m.cpu.jit?.counters.slowHeavy ?? 0,
  };
}

/** Runs `code` interpreted and translated (threshold 0); returns the translated run. */
function expectSameAsInterpreter(code: number[], setup?: (regs: Int32Array) => void): ReturnType<typeof run> {
  const interp = run(code, null, setup);
  const jit = run(code, 0, setup);
  expect(interp.halted).toBe(true);
  expect(jit.wasm).toBeGreaterThan(0);
  expect({ ...jit, wasm: 0, slowAccesses: 0, slowHeavy: 0 }).toEqual({ ...interp, wasm: 0, slowAccesses: 0, slowHeavy: 0 });
  return jit;
}

describe('same-page memos in WebAssembly translations', () => {
  it('takes accesses off EBP that leave the memo\'s page through the TLB (pages mapped far apart)', () => {
    // EBP walks from 0x6fd0 up in steps of 2; each pass reads [ebp+0x10], then reads and writes
    // at +0x18, +0x1c, +0x20, +0x2e (a dword across the pages at some passes), -0x10, and
    // read-modify-writes +0x14 and -0xc, so as EBP moves the later accesses fall in the next
    // page while the first is still in this one.
    const code = asm32([
      0xbd, ...le32(0x6fd0), //                 mov ebp, 0x6fd0
      0xb9, ...le32(40), //                     mov ecx, 40
      'loop',
      0x8b, 0x45, 0x10, //                      mov eax, [ebp+0x10]
      0x8b, 0x55, 0x18, //                      mov edx, [ebp+0x18]
      0x01, 0xc2, //                            add edx, eax
      0x89, 0x55, 0x1c, //                      mov [ebp+0x1c], edx
      0x03, 0x45, 0x20, //                      add eax, [ebp+0x20]
      0x31, 0x45, 0x2e, //                      xor [ebp+0x2e], eax
      0x8b, 0x5d, 0xf0, //                      mov ebx, [ebp-0x10]
      0x01, 0xde, //                            add esi, ebx
      0x89, 0x45, 0x20, //                      mov [ebp+0x20], eax
      0x01, 0x4d, 0x14, //                      add [ebp+0x14], ecx
      0xff, 0x45, 0xf4, //                      inc dword [ebp-0xc]
      0x83, 0xc5, 0x02, //                      add ebp, 2
      0x49, ['jne', 'loop'], //                 dec ecx; jne loop
      0xf4, //                                  hlt
    ]);
    expectSameAsInterpreter(code);
  });

  it('keeps an ESP memo across PUSH and POP, and leaves it where the stack crosses into the page below', () => {
    // ESP starts at 0x7010: each pass pushes six dwords (the last ones in page 0x6000), pops
    // them into other registers, and moves ESP down 4 for the next pass.
    const code = asm32([
      0xbc, ...le32(0x7010), //                 mov esp, 0x7010
      0xb9, ...le32(12), //                     mov ecx, 12
      'loop',
      0x8d, 0x04, 0x09, //                      lea eax, [ecx+ecx]
      0x50, 0x51, 0x53, //                      push eax; push ecx; push ebx
      0x8b, 0x54, 0x24, 0x08, //                mov edx, [esp+8]
      0x52, 0x56, 0x57, //                      push edx; push esi; push edi
      0x5b, 0x5e, 0x5f, //                      pop ebx; pop esi; pop edi
      0x01, 0x1c, 0x24, //                      add [esp], ebx
      0x5a, 0x58, //                            pop edx; pop eax
      0x01, 0xc6, //                            add esi, eax
      0x8f, 0x44, 0x24, 0xfc, //                pop dword [esp-4]
      0x83, 0xec, 0x08, //                      sub esp, 8
      0x49, ['jne', 'loop'], //                 dec ecx; jne loop
      0xf4, //                                  hlt
    ]);
    expectSameAsInterpreter(code, (r) => {
      r[3] = 0x1234;
      r[6] = 0x5678;
      r[7] = 0x9abc;
    });
  });

  it('does not write through a memo made by a read of a page holding code: the write changes the code that runs next', () => {
    // EBX points at the loop's own page: a read at [ebx] makes a memo, then a write off EBX
    // stores a new immediate into the ADD below, which the next pass must execute.
    const code = asm32([
      0xbb, ['abs32', 'loop'], //               mov ebx, loop
      0xb9, ...le32(5), //                      mov ecx, 5
      0x31, 0xc0, //                            xor eax, eax
      'loop',
      0x8b, 0x13, //                            mov edx, [ebx]
      0x05, ...le32(1), //                      add eax, 1   (the immediate at loop + 3)
      'imm',
      0x8d, 0x14, 0x09, //                      lea edx, [ecx+ecx]
      0x89, 0x53, 0x03, //                      mov [ebx+3], edx
      0x49, ['jne', 'loop'], //                 dec ecx; jne loop
      0xf4, //                                  hlt
    ]);
    const interp = run(code, null);
    // 1, then the immediates written by the passes before: 2*5, 2*4, 2*3, 2*2.
    expect(interp.regs[0]).toBe(1 + 10 + 8 + 6 + 4);
    expectSameAsInterpreter(code);
  });

  it('keeps a memo across another access\'s slow path once slow paths call the host: reads and writes off EBP around a dword that crosses a page', () => {
    // Each pass reads [ebp+0x10] (the memo), then a dword at 0x7ffe (pages 0x7000 and 0x8000:
    // the slow path every time), then writes and read-modify-writes off EBP through the memo;
    // EBP stays in page 0x6000 (LOW_FRAME), while 0x7000 is HIGH_FRAME, so a memo taken for
    // the wrong page would change the other frame. The translation leaves at the crossing
    // (slow exits) until it has done so SLOW_EXIT_LIMIT times, and is then made again with
    // slow paths that call the host and go on, past the memo's later uses.
    const code = asm32([
      0xbd, ...le32(0x6f00), //                 mov ebp, 0x6f00
      0xbe, ...le32(0x7ffe), //                 mov esi, 0x7ffe
      0xb9, ...le32(200), //                    mov ecx, 200
      'loop',
      0x8b, 0x45, 0x10, //                      mov eax, [ebp+0x10]
      0x8b, 0x16, //                            mov edx, [esi]
      0x01, 0xd0, //                            add eax, edx
      0x89, 0x45, 0x20, //                      mov [ebp+0x20], eax
      0x31, 0x4d, 0x10, //                      xor [ebp+0x10], ecx
      0x89, 0x16, //                            mov [esi], edx
      0x01, 0x45, 0xf8, //                      add [ebp-8], eax
      0x49, ['jne', 'loop'], //                 dec ecx; jne loop
      0xf4, //                                  hlt
    ]);
    const jit = expectSameAsInterpreter(code);
    // Both accesses at 0x7ffe went through the host in every pass, and the loop's translation
    // was made again with host calls.
    expect(jit.slowAccesses).toBeGreaterThanOrEqual(400);
    expect(jit.slowHeavy).toBeGreaterThanOrEqual(1);
  });
});
