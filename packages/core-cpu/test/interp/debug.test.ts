import { describe, expect, it } from 'vitest';
import { debugRegisters, DR6_BS } from '../../src/interp/debug-traps.js';
import { idtGate, IDT, place, protectedMachine, TEST_CODE } from './protected-machine.js';
import { asm, haveNasm } from './sys-asm.js';

/** #DB handler at 0x8800: counts traps in EDI and records each return EIP at 0x600 + 4n. */
const DB_HANDLER = `push eax
mov eax, [esp + 4]
mov [0x600 + edi*4], eax
inc edi
pop eax
iretd`;

function machine(source: string) {
  const m = protectedMachine(asm(source, TEST_CODE));
  idtGate(m.memory, 1, 0x8800);
  place(m.memory, 0x8800, asm(DB_HANDLER, 0x8800));
  return m;
}

describe.runIf(haveNasm)('single-step, interrupt shadow, INT1, SALC', () => {
  it('TF set by POPF traps after each following instruction, not after the POPF; clearing it stops', () => {
    const src = `xor edi, edi
pushfd
or dword [esp], 0x100
popfd
a1: nop
a2: nop
a3: pushfd
and dword [esp], ~0x100
popfd
a4: nop
a5: hlt`;
    const m = machine(src);
    m.cpu.run(200);
    expect(m.cpu.halted).toBe(true);
    const bytes = asm(src, TEST_CODE);
    const end = TEST_CODE + bytes.length;
    // Traps after: nop, nop, pushfd, and, popfd (TF was set at its start) -> return EIPs.
    expect(m.cpu.regs.gpr.r32[7]).toBe(5);
    const eips = [0, 1, 2, 3, 4].map((i) => m.memory.read32(0x600 + i * 4));
    expect(eips[0]).toBe(end - 1 - 1 - 1 - 1 - 6 - 1 - 1); // a2: after the first nop
    expect(eips[4]).toBe(end - 2); // a4: after the POPFD that cleared TF
    expect(debugRegisters(m.cpu)[6] & DR6_BS).toBe(DR6_BS);
  });

  it('MOV SS delays the single-step trap past the next instruction', () => {
    const src = `xor edi, edi
pushfd
or dword [esp], 0x100
popfd
mov ax, ss
a1: mov ss, ax
nop
a2: hlt
a3: jmp a3`;
    const m = machine(src);
    m.cpu.run(60);
    const end = TEST_CODE + asm(src, TEST_CODE).length;
    // After MOV AX,SS (return: the MOV SS); none after MOV SS; after the NOP (return: HLT);
    // after the HLT (return: past it, the halt ends).
    expect(m.memory.read32(0x600)).toBe(end - 2 - 1 - 1 - 2);
    expect(m.memory.read32(0x604)).toBe(end - 2 - 1);
    expect(m.memory.read32(0x608)).toBe(end - 2);
  });

  it('TF loaded by IRETD traps after the first instruction it returns to', () => {
    const src = `xor edi, edi
pushfd
or dword [esp], 0x100
push cs
push dword target
iretd
target: nop
after: hlt`;
    const m = machine(src);
    m.cpu.run(100);
    const end = TEST_CODE + asm(src, TEST_CODE).length;
    expect(m.memory.read32(0x600)).toBe(end - 1); // after the NOP
  });

  it('a DR7 instruction breakpoint faults before the instruction once; RF lets it run after IRETD', () => {
    const src = `xor edi, edi
mov eax, brk
mov dr0, eax
mov eax, 1
mov dr7, eax
xor ecx, ecx
brk: inc ecx
jmp brk2
brk2: hlt`;
    const m = machine(src);
    m.cpu.run(100);
    const bytes = asm(src, TEST_CODE);
    const bpAt = TEST_CODE + bytes.length - 1 - 2 - 1;
    expect(m.cpu.halted).toBe(true);
    expect(m.cpu.regs.gpr.r32[7]).toBe(1); // one #DB
    expect(m.memory.read32(0x600)).toBe(bpAt); // a fault: EIP of the INC
    expect(m.cpu.regs.gpr.r32[1]).toBe(1); // the INC ran once
    expect(debugRegisters(m.cpu)[6] & 0xf).toBe(1); // B0
  });

  it('STI that sets IF and MOV SS hold off external interrupts for one instruction', () => {
    const m = machine('cli\nsti\nnop\nmov ax, ss\nmov ss, ax\nnop\nhlt');
    m.cpu.run(11 + 1);
    expect(m.cpu.interruptShadow).toBe(false);
    m.cpu.run(1); // STI
    expect(m.cpu.interruptShadow).toBe(true);
    m.cpu.run(1); // NOP
    expect(m.cpu.interruptShadow).toBe(false);
    m.cpu.run(2); // MOV AX, SS; MOV SS, AX
    expect(m.cpu.interruptShadow).toBe(true);
    m.cpu.run(1);
    expect(m.cpu.interruptShadow).toBe(false);
    m.cpu.run(1); // STI with IF already set: no shadow
  });

  it('INT1 (F1) delivers #DB as a trap with no gate DPL check', () => {
    const m = machine('xor edi, edi\nint1\nhlt');
    m.memory.write8(IDT + 8 + 5, 0x8e); // gate DPL 0 (INT 1 would be #GP from CPL 3 only; here checks nothing)
    m.cpu.run(100);
    expect(m.cpu.regs.gpr.r32[7]).toBe(1);
    expect(m.memory.read32(0x600)).toBe(TEST_CODE + 3);
  });

  it('SALC sets AL from CF', () => {
    const m = machine('stc\nsalc\nmov bl, al\nclc\nsalc\nhlt');
    m.cpu.run(100);
    expect(m.cpu.regs.gpr.r16[6] & 0xff).toBe(0xff); // BL
    expect(m.cpu.regs.gpr.r8[0]).toBe(0);
  });
});
