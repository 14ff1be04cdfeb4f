import { describe, expect, it } from 'vitest';
import { CpuMode } from '../../src/decoder/instruction.js';
import { Seg } from '../../src/state/segment-cache.js';
import {
  GDT, idtGate, KERNEL_STACK, place, protectedMachine, SEL, segmentDescriptor, TEST_CODE, toUser, TSS,
} from './protected-machine.js';
import { asm, haveNasm, writeTss32 } from './sys-asm.js';

const V86_CODE = 0x8010; // CS 0x0800, IP 0x0010
const IO_BITMAP = TSS + 0x68;

/** CPL 0 code that IRETs to virtual-8086 mode at 0800:0010 with DS = 0x100, SS:SP = 2000:0FFE. */
function enterV86(eflags: number): string {
  return `mov ax, 0x28
ltr ax
push dword 0
push dword 0
push dword 0x100
push dword 0x200
push dword 0x2000
push dword 0x0ffe
push dword ${eflags}
push dword 0x0800
push dword 0x0010
iretd`;
}

/** Machine whose TSS has an I/O bitmap denying every port except those in `allowed`. */
function v86Machine(eflags: number, v86Source: string) {
  const m = protectedMachine(asm(enterV86(eflags), TEST_CODE));
  segmentDescriptor(m.memory, GDT + 0x28, TSS, 0x68 + 0x2000, 0x89, 0);
  for (let i = 0; i <= 0x2000; i++) m.memory.write8(IO_BITMAP + i, 0xff);
  m.memory.write16(TSS + 0x66, 0x68);
  place(m.memory, V86_CODE, asm(v86Source, 0x10, 16));
  idtGate(m.memory, 13, 0x8800);
  place(m.memory, 0x8800, asm('hlt', 0x8800));
  return m;
}

const VM = 0x20000;
const IOPL3 = 0x3000;

describe.runIf(haveNasm)('virtual-8086 mode', () => {
  it('IRETD with VM enters the mode: real-mode segment arithmetic at CPL 3, 16-bit code', () => {
    const m = v86Machine(VM | IOPL3 | 2, 'mov ax, 0x1234\nmov [0x10], ax\nmov bx, [ss:0x0ffe - 2]\nint 0x30');
    idtGate(m.memory, 0x30, 0x8900, 3);
    place(m.memory, 0x8900, asm('hlt', 0x8900));
    m.cpu.run(11 + 12); // boot, then LTR and the IRETD frame
    expect(m.cpu.regs.cpl).toBe(3);
    expect(m.cpu.mode).toBe(CpuMode.Bits16);
    expect(m.cpu.regs.seg.base[Seg.DS]).toBe(0x1000);
    m.cpu.run(100);
    expect(m.memory.read16(0x1010)).toBe(0x1234);
    expect(m.cpu.halted).toBe(true);
  });

  it('INT n from the mode enters a CPL 0 handler with GS FS DS ES SS ESP EFLAGS CS EIP pushed and data segments zeroed', () => {
    const m = v86Machine(VM | IOPL3 | 2, 'nop\nint 0x30');
    idtGate(m.memory, 0x30, 0x8900, 3);
    place(m.memory, 0x8900, asm('hlt', 0x8900));
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(m.cpu.halted).toBe(true);
    expect(r.rip).toBe(0x8901);
    expect(r.cpl).toBe(0);
    expect(r.flags.get() & VM).toBe(0);
    for (const seg of [Seg.DS, Seg.ES, Seg.FS, Seg.GS]) expect(r.seg.selector[seg]).toBe(0);
    const esp = r.gpr.r32[4] >>> 0;
    expect(esp).toBe(KERNEL_STACK - 36);
    const frame = [0, 4, 8, 12, 16, 20, 24, 28, 32].map((o) => m.memory.read32(esp + o));
    expect(frame[0]).toBe(0x13); // EIP after INT 0x30 (nop at 0x10, int at 0x11)
    expect(frame[1]).toBe(0x0800);
    expect(frame[2] & (VM | IOPL3)).toBe(VM | IOPL3);
    expect(frame[3]).toBe(0x0ffe);
    expect(frame.slice(4)).toEqual([0x2000, 0x200, 0x100, 0, 0]); // SS ES DS FS GS
  });

  it('an IRETD from the handler resumes the mode', () => {
    const m = v86Machine(VM | IOPL3 | 2, 'int 0x30\nmov bx, 0x99\nhlt');
    idtGate(m.memory, 0x30, 0x8900, 3);
    place(m.memory, 0x8900, asm('iretd', 0x8900));
    m.cpu.run(100);
    // HLT at CPL 3 is #GP(0): the handler at 0x8800 halts.
    expect(m.cpu.regs.gpr.r16[6]).toBe(0x99);
    expect(m.cpu.lastException).toBe(13);
    expect(m.memory.read32((m.cpu.regs.gpr.r32[4] >>> 0) + 4)).toBe(0x15); // faulting HLT's IP
  });

  it('IOPL-sensitive instructions are #GP(0) below IOPL 3: CLI, STI, PUSHF, POPF, INT n, IRET', () => {
    for (const insn of ['cli', 'sti', 'pushf', 'popf', 'int 0x30', 'iret']) {
      const m = v86Machine(VM | 2, `nop\n${insn}`);
      m.cpu.run(100);
      expect(m.cpu.halted, insn).toBe(true);
      expect(m.cpu.lastException, insn).toBe(13);
      const esp = m.cpu.regs.gpr.r32[4] >>> 0;
      expect(m.memory.read32(esp), insn).toBe(0); // error code
      expect(m.memory.read32(esp + 4), insn).toBe(0x11); // the instruction itself
      expect(m.memory.read32(esp + 12) & VM, insn).toBe(VM);
    }
  });

  it('at IOPL 3 PUSHF/POPF/IRET work in the mode and POPF cannot change IOPL', () => {
    const m = v86Machine(VM | IOPL3 | 2, `pushf
pop ax
push word 0
popf
pushf
pop bx
pushf
push cs
push word target
iret
target: mov cx, 0x42
hlt`);
    m.cpu.run(100);
    const g = m.cpu.regs.gpr;
    expect(g.r16[0] & IOPL3).toBe(IOPL3);
    expect(g.r16[6] & IOPL3).toBe(IOPL3); // POPF of 0 kept IOPL
    expect(g.r16[2]).toBe(0x42);
    expect(m.cpu.lastException).toBe(13); // the final HLT
  });

  it('a task switch to a TSS whose EFLAGS has VM enters the mode', () => {
    const m = v86Machine(VM | IOPL3 | 2, 'nop');
    // Replace the IRETD entry: LTR, then JMP to a second TSS holding a virtual-8086 image.
    place(m.memory, TEST_CODE, asm('mov ax, 0x28\nltr ax\njmp 0x50:0', TEST_CODE));
    m.memory.write16(0x0f00, 0x57);
    segmentDescriptor(m.memory, GDT + 0x50, 0x4000, 0x67, 0x89, 0);
    writeTss32(m.memory, 0x4000, {
      eip: 0x10, eflags: VM | 2, esp: 0x0ffe, cs: 0x0800, ss: 0x2000, ds: 0x100, es: 0x200, esp0: KERNEL_STACK, ss0: SEL.DATA0,
    });
    place(m.memory, V86_CODE, asm('mov ax, [0x10]\nhlt', 0x10, 16));
    m.memory.write16(0x1010, 0xbeef);
    m.cpu.run(100);
    const r = m.cpu.regs;
    expect(r.gpr.r16[0]).toBe(0xbeef); // DS 0x100: base 0x1000
    expect(m.cpu.lastException).toBe(13); // HLT at CPL 3, from the mode
    expect(m.memory.read32((r.gpr.r32[4] >>> 0) + 12) & VM).toBe(VM);
  });

  it('at CPL 3 with IOPL 0 in protected mode, IN/OUT are allowed exactly by the TSS bitmap', () => {
    const run = (port: number) => {
      const m = protectedMachine([...toUser(0x8000)]);
      segmentDescriptor(m.memory, GDT + 0x28, TSS, 0x68 + 0x2000, 0x89, 0);
      for (let i = 0; i <= 0x2000; i++) m.memory.write8(IO_BITMAP + i, 0xff);
      m.memory.write16(TSS + 0x66, 0x68);
      m.memory.write8(IO_BITMAP + (0x3f8 >> 3), 0xfe); // port 0x3f8 allowed
      place(m.memory, 0x8000, asm(`mov dx, ${port}\nin al, dx\nint3`, 0x8000));
      idtGate(m.memory, 13, 0x8800);
      place(m.memory, 0x8800, asm('hlt', 0x8800));
      idtGate(m.memory, 3, 0x8900, 3);
      place(m.memory, 0x8900, asm('hlt', 0x8900));
      m.cpu.run(200);
      return m.cpu.regs.rip;
    };
    expect(run(0x3f8)).toBe(0x8901);
    expect(run(0x3f9)).toBe(0x8801);
  });

  it('IN/OUT in the mode consult the TSS I/O bitmap whatever IOPL is', () => {
    const run = (bitClear: boolean, insn: string) => {
      const m = v86Machine(VM | IOPL3 | 2, `${insn}\nmov dx, 0x77\nint3`);
      if (bitClear) m.memory.write8(IO_BITMAP + (0x80 >> 3), 0xfe);
      idtGate(m.memory, 3, 0x8900, 3);
      place(m.memory, 0x8900, asm('hlt', 0x8900));
      m.cpu.run(100);
      // INT3 reaches the handler at 0x8900; a denied port is #GP(0) (handler at 0x8800).
      return m.cpu.regs.rip === 0x8901 ? 'allowed' : m.cpu.lastException === 13 ? '#GP' : 'other';
    };
    expect(run(true, 'out 0x80, al')).toBe('allowed');
    expect(run(false, 'out 0x80, al')).toBe('#GP');
    expect(run(true, 'out 0x80, ax')).toBe('#GP'); // port 0x81 is denied
    expect(run(true, 'mov dx, 0x80\nin al, dx')).toBe('allowed');
  });
});
