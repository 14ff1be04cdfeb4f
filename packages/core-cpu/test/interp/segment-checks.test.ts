import { describe, expect, it } from 'vitest';
import { GDT, idtGate, place, protectedMachine, SEL, segmentDescriptor, TEST_CODE } from './protected-machine.js';
import { asm, haveNasm } from './sys-asm.js';
import { SegmentTest } from '../../src/interp/protected/segment-checks.js';

const SEL_XONLY = 0x50; // execute-only code
const SEL_DOWN16 = 0x58; // expand-down data, limit 0x0fff, B = 0
const SEL_DOWN32 = 0x60; // expand-down data, limit 0x0fff, B = 1 (stack)
const SEL_RODATA = 0x68; // read-only data

function machine(source: string) {
  const m = protectedMachine(asm(source, TEST_CODE));
  m.memory.write16(0x0f00, 0xff);
  segmentDescriptor(m.memory, GDT + SEL_XONLY, 0, 0xfffff, 0x98, 0xc);
  segmentDescriptor(m.memory, GDT + SEL_DOWN16, 0x100000, 0x0fff, 0x96, 0x0);
  segmentDescriptor(m.memory, GDT + SEL_DOWN32, 0x100000, 0x0fff, 0x96, 0x4);
  segmentDescriptor(m.memory, GDT + SEL_RODATA, 0, 0xfffff, 0x90, 0xc);
  for (const v of [12, 13]) idtGate(m.memory, v, 0x8800);
  place(m.memory, 0x8800, asm('pop edx\nhlt', 0x8800));
  return m;
}

/** Runs and reports 'ok' (ECX = 1 set after the access) or the exception and error code. */
function outcome(source: string): string {
  const m = machine(`${source}\nmov ecx, 1\nhlt`);
  m.cpu.run(200);
  if (m.cpu.regs.gpr.r32[1] === 1) return 'ok';
  return `${m.cpu.lastException === 12 ? '#SS' : m.cpu.lastException === 13 ? '#GP' : m.cpu.lastException}(${m.cpu.regs.gpr.r32[2]})`;
}

describe('the fast paths\' attribute tests', () => {
  // The masks are built from Attr (state/segment-cache.ts); checked here against the bits as the
  // SDM numbers them (Vol. 3, 3.4.5.1): S 0x10, code 0x8, expand-down (data) 0x4, writable 0x2;
  // and tsemu's own "unusable" bit, 0x10000.
  it('take usable, expand-up data segments and, for writes, writable ones', () => {
    expect(SegmentTest.SimpleMask).toBe(0x10000 | 0x10 | 0x8 | 0x4);
    expect(SegmentTest.SimpleValue).toBe(0x10);
    expect(SegmentTest.WritableSimpleMask).toBe(SegmentTest.SimpleMask | 0x2);
    expect(SegmentTest.WritableSimpleValue).toBe(0x10 | 0x2);
  });
});

describe.runIf(haveNasm)('protected-mode data segment checks', () => {
  it('expand-down (B = 0): offsets above the limit up to 0xFFFF are valid, at or below it #GP(0)', () => {
    const load = `mov ax, ${SEL_DOWN16}\nmov es, ax\n`;
    expect(outcome(`${load}mov eax, [es:0x1000]`)).toBe('ok');
    expect(outcome(`${load}mov eax, [es:0xfffc]`)).toBe('ok');
    expect(outcome(`${load}mov eax, [es:0x0fff]`)).toBe('#GP(0)');
    expect(outcome(`${load}mov eax, [es:0xfffe]`)).toBe('#GP(0)'); // crosses 0xFFFF
  });

  it('expand-down (B = 1) stack: offsets above the limit are valid, below it #SS(0)', () => {
    const load = `mov ax, ${SEL_DOWN32}\nmov ss, ax\n`;
    expect(outcome(`${load}mov esp, 0x2000\npush eax`)).toBe('ok');
    expect(outcome(`${load}mov esp, 0x10000000\nmov eax, [ss:esp]`)).toBe('ok');
    expect(outcome(`${load}mov esp, 0x2000\nmov eax, [ss:0x0ffe]`)).toBe('#SS(0)');
  });

  it('reading through execute-only code is #GP(0); readable code is fine', () => {
    expect(outcome(`mov ax, ${SEL_XONLY}\nmov es, ax`)).toBe(`#GP(${SEL_XONLY})`); // the load itself
    expect(outcome('mov eax, [cs:0x7c00]')).toBe('ok');
  });

  it('a null data segment register is #GP(0) on use, not on load', () => {
    expect(outcome('xor eax, eax\nmov fs, ax')).toBe('ok');
    expect(outcome('xor eax, eax\nmov fs, ax\nmov eax, [fs:0]')).toBe('#GP(0)');
  });

  it('a read-only data segment can be read', () => {
    expect(outcome(`mov ax, ${SEL_RODATA}\nmov gs, ax\nmov eax, [gs:0x100]`)).toBe('ok');
  });

  it('real mode ignores the attributes (expand-up 64 KiB limit)', () => {
    const m = protectedMachine([]);
    m.cpu.regs.cr0 = 0x10;
    m.cpu.regs.seg.attr[0] = 0x96; // expand-down attribute bits left from protected mode
    m.cpu.regs.seg.limit[0] = 0xffff;
    m.cpu.regs.rip = 0x7000;
    place(m.memory, 0x7000, asm('mov ax, [es:0x10]\nhlt', 0x7000, 16));
    m.cpu.run(2);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.lastException).toBe(-1);
  });
});
