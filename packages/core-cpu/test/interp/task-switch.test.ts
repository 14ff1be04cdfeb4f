import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { debugRegisters } from '../../src/interp/debug-traps.js';
import { Seg } from '../../src/state/segment-cache.js';
import { GDT, idtGate, IDT, place, protectedMachine, SEL, segmentDescriptor, TEST_CODE, TSS } from './protected-machine.js';
import { asm, haveNasm, writeTss32 } from './sys-asm.js';

const TSS2 = 0x4000;
const TSS16 = 0x5000;
const SEL_TSS2 = 0x50;
const SEL_TSS16 = 0x58;
const SEL_TASK_GATE = 0x60;
const SEL_SMALL_TSS = 0x68;

/** A machine with a second 32-bit TSS (0x50), a 16-bit TSS (0x58), a task gate (0x60) and a too-small TSS (0x68). */
function taskMachine(source: string) {
  const m = protectedMachine(asm(source, TEST_CODE));
  const { memory } = m;
  memory.write16(0x0f00, 0xff);
  segmentDescriptor(memory, GDT + SEL_TSS2, TSS2, 0x67, 0x89, 0);
  segmentDescriptor(memory, GDT + SEL_TSS16, TSS16, 0x2b, 0x81, 0);
  memory.write32(GDT + SEL_TASK_GATE, SEL_TSS2 << 16);
  memory.write32(GDT + SEL_TASK_GATE + 4, 0x8500);
  segmentDescriptor(memory, GDT + SEL_SMALL_TSS, 0x6000, 0x60, 0x89, 0);
  writeTss32(memory, TSS2, { eip: 0x8000, eax: 0x2222, esp: 0x6000, cs: SEL.CODE0, ss: SEL.DATA0, ds: SEL.DATA0, es: SEL.DATA0 });
  return m;
}

const access = (m: ReturnType<typeof taskMachine>, sel: number) => m.memory.read8(GDT + sel + 5);

describe.runIf(haveNasm)('hardware task switches', () => {
  it('JMP to a TSS saves the old task, loads the new one, moves the busy bit and sets CR0.TS', () => {
    const src = `mov ax, 0x28\nltr ax\nmov eax, 0x11111111\njmp ${SEL_TSS2}:0\nafter: hlt`;
    const m = taskMachine(src);
    place(m.memory, 0x8000, asm('mov ebx, eax\nhlt', 0x8000));
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(m.cpu.halted).toBe(true);
    expect(r.rip).toBe(0x8003);
    expect(r.gpr.r32[3]).toBe(0x2222);
    expect(r.seg.selector[Seg.TR]).toBe(SEL_TSS2);
    expect(r.cr0 & 8).toBe(8);
    expect(r.flags.get() & 0x4000).toBe(0); // JMP does not nest
    expect(r.gpr.r32[4]).toBe(0x6000);
    expect(m.memory.read32(TSS + 0x28)).toBe(0x11111111); // old EAX saved
    expect(m.memory.read32(TSS + 0x20)).toBe(TEST_CODE + asm(src, TEST_CODE).length - 1); // EIP after the JMP
    expect(access(m, 0x28)).toBe(0x89); // old TSS no longer busy
    expect(access(m, SEL_TSS2)).toBe(0x8b); // new TSS busy
  });

  it('CALL through a task gate nests (NT, back-link) and IRET returns to the caller task', () => {
    const m = taskMachine(`mov ax, 0x28\nltr ax\ncall ${SEL_TASK_GATE}:0\nmov ecx, 0x55\nhlt`);
    place(m.memory, 0x8000, asm('mov ebx, 0x77\niretd', 0x8000));
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(m.cpu.halted).toBe(true);
    expect(r.gpr.r32[1]).toBe(0x55);
    expect(r.seg.selector[Seg.TR]).toBe(0x28);
    expect(m.memory.read16(TSS2)).toBe(0x28); // back-link
    expect(m.memory.read32(TSS2 + 0x34)).toBe(0x77); // EBX saved by the IRET's switch
    expect(m.memory.read32(TSS2 + 0x24) & 0x4000).toBe(0); // NT cleared in the returning task's image
    expect(r.flags.get() & 0x4000).toBe(0);
    expect(access(m, SEL_TSS2)).toBe(0x89); // IRET clears the busy bit it leaves
    expect(access(m, 0x28)).toBe(0x8b);
  });

  it('an exception through an IDT task gate pushes its error code on the new task stack', () => {
    const m = taskMachine('mov ax, 0x28\nltr ax\nmov ax, 0x80\nfault: mov fs, ax\nhlt');
    m.memory.write32(IDT + 13 * 8, SEL_TSS2 << 16);
    m.memory.write32(IDT + 13 * 8 + 4, 0x8500);
    place(m.memory, 0x8000, asm('pop edx\nhlt', 0x8000));
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(m.cpu.halted).toBe(true);
    expect(r.gpr.r32[2]).toBe(0x80); // #GP(0x80)
    expect(r.seg.selector[Seg.TR]).toBe(SEL_TSS2);
    expect(r.flags.get() & 0x4000).toBe(0x4000); // nested
    expect(m.memory.read16(TSS2)).toBe(0x28);
    expect(m.memory.read32(TSS + 0x20)).toBe(TEST_CODE + 11); // the faulting MOV FS is saved
  });

  it('a TSS with a limit below 0x67 is #TS(selector); a busy TSS is #GP(selector)', () => {
    for (const [sel, vector] of [[SEL_SMALL_TSS, 10], [0x28, 13]] as const) {
      const m = taskMachine(`mov ax, 0x28\nltr ax\njmp ${sel}:0\nhlt`);
      idtGate(m.memory, vector, 0x8800);
      place(m.memory, 0x8800, asm('pop edx\nhlt', 0x8800));
      m.cpu.run(100);
      expect(m.cpu.lastException).toBe(vector);
      expect(m.cpu.regs.gpr.r32[2]).toBe(sel);
      expect(m.cpu.regs.seg.selector[Seg.TR]).toBe(0x28);
    }
  });

  it('CALL to a 16-bit TSS loads the 16-bit image', () => {
    const m = taskMachine(`mov ax, 0x28\nltr ax\nmov eax, 0xabcd1234\ncall ${SEL_TSS16}:0\nhlt`);
    const t = TSS16;
    m.memory.write16(t + 0x0e, 0x9000); // IP
    m.memory.write16(t + 0x10, 0x0002); // FLAGS
    m.memory.write16(t + 0x12, 0x1616); // AX
    m.memory.write16(t + 0x1a, 0x7000); // SP
    m.memory.write16(t + 0x22, SEL.DATA0); // ES
    m.memory.write16(t + 0x24, SEL.CODE16); // CS
    m.memory.write16(t + 0x26, SEL.DATA0); // SS
    m.memory.write16(t + 0x28, SEL.DATA0); // DS
    m.memory.write16(t + 0x2a, 0); // LDT
    place(m.memory, 0x9000, asm('mov bx, ax\nhlt', 0x9000, 16));
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.mode).toBe(CpuMode.Bits16);
    expect(r.gpr.r16[6]).toBe(0x1616);
    expect(r.seg.selector[Seg.TR]).toBe(SEL_TSS16);
    expect(m.memory.read16(TSS16)).toBe(0x28);
    expect(m.memory.read32(TSS + 0x28)).toBe(0xabcd1234);
    expect(access(m, SEL_TSS16)).toBe(0x83);
  });

  it('the new task\'s LDT is loaded before its segment registers, which may name it', () => {
    const m = taskMachine(`mov ax, 0x28\nltr ax\njmp ${SEL_TSS2}:0`);
    segmentDescriptor(m.memory, GDT + 0x70, 0x6800, 0x0f, 0x82, 0); // LDT with two entries
    segmentDescriptor(m.memory, 0x6800 + 8, 0x10000, 0xffff, 0x92, 0); // LDT selector 0x0c: data at 64 KiB
    m.memory.write16(TSS2 + 0x60, 0x70);
    m.memory.write16(TSS2 + 0x54, 0x0c); // DS
    m.memory.write32(0x10000, 0x600dcafe);
    place(m.memory, 0x8000, asm('mov eax, [0]\nhlt', 0x8000));
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(r.gpr.r32[0] >>> 0).toBe(0x600dcafe);
    expect(r.seg.selector[Seg.LDTR]).toBe(0x70);
    expect(r.seg.base[Seg.DS]).toBe(0x10000);
  });

  it('the T flag of the new TSS raises #DB (DR6.BT) before its first instruction', () => {
    const m = taskMachine(`mov ax, 0x28\nltr ax\njmp ${SEL_TSS2}:0`);
    m.memory.write16(TSS2 + 0x64, 1);
    idtGate(m.memory, 1, 0x8800);
    place(m.memory, 0x8800, asm('pop edx\nhlt', 0x8800));
    m.cpu.run(100);
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[2]).toBe(0x8000); // return EIP: the new task's first instruction
    expect(debugRegisters(m.cpu)[6] & 0x8000).toBe(0x8000);
  });

  it('a bad CS in the new TSS is #TS(selector), raised in the new task (here through a task gate back)', () => {
    const m = taskMachine(`mov ax, 0x28\nltr ax\njmp ${SEL_TSS2}:0\npop edx\nhlt`);
    m.memory.write16(TSS2 + 0x4c, SEL.DATA0); // CS names a data segment
    // #TS goes through a task gate to the first task, whose TSS the JMP left available.
    m.memory.write32(IDT + 10 * 8, 0x28 << 16);
    m.memory.write32(IDT + 10 * 8 + 4, 0x8500);
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.lastException).toBe(10);
    expect(r.gpr.r32[2]).toBe(SEL.DATA0);
    expect(r.seg.selector[Seg.TR]).toBe(0x28);
    expect(m.memory.read16(TSS)).toBe(SEL_TSS2); // back-link to the task that faulted
  });
});
