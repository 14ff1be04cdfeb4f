import { describe, expect, it } from 'vitest';
import { decode } from '../../src/decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../../src/decoder/instruction.js';
import { disassemble } from '../../src/disasm/intel.js';

function dis(mode: CpuMode, hex: string, address: number | bigint = 0): string {
  const bytes = hex.split(' ').map((b) => parseInt(b, 16));
  const insn = newInstruction();
  const status = decode({ fetch8: (a: number) => bytes[a] ?? 0 }, 0, mode, insn);
  expect(status).toBe(DecodeStatus.Ok);
  expect(insn.length).toBe(bytes.length);
  return disassemble(insn, address);
}

const M16 = CpuMode.Bits16;
const M32 = CpuMode.Bits32;
const M64 = CpuMode.Bits64;

describe('Intel-syntax disassembly (objdump -M intel conventions)', () => {
  it.each([
    [M32, '01 44 b3 10', 'add DWORD PTR [ebx+esi*4+0x10],eax'],
    [M32, '8b 04 24', 'mov eax,DWORD PTR [esp]'],
    [M32, '8b 05 78 56 34 12', 'mov eax,DWORD PTR ds:0x12345678'],
    [M32, '64 8b 00', 'mov eax,DWORD PTR fs:[eax]'],
    [M32, '8d 03', 'lea eax,[ebx]'],
    [M32, '83 c0 f0', 'add eax,0xfffffff0'],
    [M32, '66 83 c0 f0', 'add ax,0xfff0'],
    [M32, 'f3 a5', 'rep movs DWORD PTR es:[edi],DWORD PTR ds:[esi]'],
    [M32, 'f3 a6', 'repz cmps BYTE PTR ds:[esi],BYTE PTR es:[edi]'],
    [M32, 'f2 ae', 'repnz scas al,BYTE PTR es:[edi]'],
    [M32, 'f0 0f b1 0b', 'lock cmpxchg DWORD PTR [ebx],ecx'],
    [M32, '9a 78 56 34 12 34 12', 'call 0x1234:0x12345678'],
    [M32, 'ff 18', 'call FWORD PTR [eax]'],
    [M32, '0f 01 10', 'lgdtd [eax]'],
    [M32, '0f 20 c0', 'mov eax,cr0'],
    [M32, '66 9c', 'pushfw'],
    [M32, 'c8 10 00 05', 'enter 0x10,0x5'],
    [M32, 'd7', 'xlat BYTE PTR ds:[ebx]'],
    [M16, '8b 46 fe', 'mov ax,WORD PTR [bp-0x2]'],
    [M16, '8b 06 34 12', 'mov ax,WORD PTR ds:0x1234'],
    [M16, '66 60', 'pushad'],
    [M64, '48 b8 88 77 66 55 44 33 22 11', 'movabs rax,0x1122334455667788'],
    [M64, '4a 8b 04 20', 'mov rax,QWORD PTR [rax+r12*1]'],
    [M64, '40 88 e0', 'mov al,spl'],
    [M64, '41 90', 'xchg r8d,eax'],
    [M64, '48 63 c1', 'movsxd rax,ecx'],
    [M64, '48 cf', 'iretq'],
    [M64, '48 0f c7 08', 'cmpxchg16b OWORD PTR [rax]'],
    [M64, '44 0f 20 c0', 'mov rax,cr8'],
    [M64, '48 90', 'rex.W nop'],
    [M64, 'f3 90', 'pause'],
  ])('%i-bit %s -> %s', (mode, hex, text) => {
    expect(dis(mode as CpuMode, hex)).toBe(text);
  });

  it.each([
    ['d8 c1', 'fadd st,st(1)'],
    ['dc e9', 'fsub st(1),st'],
    ['de f9', 'fdivp st(1),st'],
    ['d9 e8', 'fld1'],
    ['dd 38', 'fnstsw WORD PTR [eax]'],
    ['df e0', 'fnstsw ax'],
    ['db 28', 'fld TBYTE PTR [eax]'],
    ['df 2d 00 10 00 00', 'fild QWORD PTR ds:0x1000'],
    ['d9 20', 'fldenv [eax]'],
    ['da c1', 'fcmovb st,st(1)'],
    ['df e9', 'fucomip st,st(1)'],
  ])('formats x87 %s as %s', (hex, text) => {
    expect(dis(M32, hex)).toBe(text);
  });

  it('prints branch targets as absolute addresses', () => {
    expect(dis(M32, 'eb fe', 0x1000)).toBe('jmp 0x1000');
    expect(dis(M32, 'e8 00 00 00 00', 0x401000)).toBe('call 0x401005');
    expect(dis(M32, '0f 84 f0 ff ff ff', 0x10)).toBe('je 0x6');
    expect(dis(M64, 'e9 00 00 00 80', 0xffffffff80001000n)).toBe('jmp 0xffffffff00001005');
    expect(dis(M16, 'e9 fd ff', 0x7c00)).toBe('jmp 0x7c00');
  });

  it('wraps 16-bit targets inside the segment', () => {
    expect(dis(M16, 'eb 10', 0xfff0)).toBe('jmp 0x2');
  });

  it('annotates RIP-relative operands with their target', () => {
    expect(dis(M64, '8b 05 10 00 00 00', 0x1000)).toBe('mov eax,DWORD PTR [rip+0x10]        # 0x1016');
  });

  it('prints segment overrides on instructions without memory operands as prefixes', () => {
    expect(dis(M32, '64 90')).toBe('fs nop');
    expect(dis(M64, '3e 8b 00')).toBe('ds mov eax,DWORD PTR [rax]');
  });

  it('marks prefixes that change nothing the way objdump does', () => {
    expect(dis(M32, '66 f4')).toBe('data16 hlt');
    expect(dis(M32, '67 e2 00', 0)).toBe('addr16 loop 0x3');
    expect(dis(M64, '48 0f 20 c0')).toBe('rex.W mov rax,cr0');
  });

  it('returns (bad) for an instruction that did not decode', () => {
    const insn = newInstruction();
    expect(decode({ fetch8: () => 0xd6 }, 0, M64, insn)).toBe(DecodeStatus.Invalid);
    expect(disassemble(insn, 0)).toBe('(bad)');
  });
});
