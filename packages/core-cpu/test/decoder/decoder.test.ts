import { describe, expect, it } from 'vitest';
import { decode, MAX_INSTRUCTION_LENGTH } from '../../src/decoder/decoder.js';
import { byteRegIsHigh, cpuModeOf, CpuMode, DecodeStatus, Instruction, PREFIX_LOCK, PREFIX_REP, PREFIX_REPNE, PREFIX_REX, SEG_DS, SEG_FS, SEG_GS, SEG_SS, modrmOf, newInstruction, rexOf, internDetail, internedDetails, newDetailFields, MAX_INTERNED_DETAILS } from '../../src/decoder/instruction.js';
import { dec } from './decode-helpers.js';

const M16 = CpuMode.Bits16;
const M32 = CpuMode.Bits32;
const M64 = CpuMode.Bits64;

describe('64-bit mode changes', () => {
  it('treats 40-4F as REX prefixes in 64-bit mode and as INC/DEC elsewhere', () => {
    const long = dec(M64, '48 01 c0');
    expect(long.status).toBe(DecodeStatus.Ok);
    expect(long.insn.length).toBe(3);
    expect(long.insn.entry.mnemonic).toBe('add');
    expect(long.insn.opSize).toBe(8);
    expect(long.insn.prefixes & PREFIX_REX).toBeTruthy();
    const legacy = dec(M32, '48');
    expect(legacy.insn.entry.mnemonic).toBe('dec');
    expect(legacy.insn.length).toBe(1);
  });

  it('decodes 63 as MOVSXD in 64-bit mode and ARPL elsewhere', () => {
    expect(dec(M64, '48 63 c1').insn.entry.mnemonic).toBe('movsxd');
    expect(dec(M32, '63 c1').insn.entry.mnemonic).toBe('arpl');
  });

  it.each(['06', '07', '0e', '16', '17', '1e', '1f', '27', '2f', '37', '3f', '60', '61', '62 00', '82 c0 01',
    '9a 00 00 00 00 00 00', 'c4 00', 'c5 00', 'ce', 'd4 0a', 'd5 0a', 'd6', 'ea 00 00 00 00 00 00'])(
    'rejects %s in 64-bit mode (valid or not elsewhere)', (hex) => {
      expect(dec(M64, hex).status).toBe(DecodeStatus.Invalid);
    });

  it('defaults PUSH/POP to 64-bit operands, 66 selecting 16', () => {
    expect(dec(M64, '50').insn.opSize).toBe(8);
    expect(dec(M64, '66 50').insn.opSize).toBe(2);
    expect(dec(M64, '41 5f').insn.rm).toBe(0);
    const r15 = dec(M64, '41 5f').insn;
    expect(r15.entry.mnemonic).toBe('pop');
    expect(r15.opcode & 7 | (rexOf(r15) & 1 ? 8 : 0)).toBe(15);
  });

  it('keeps the REX nibble in the prefix bits and rebuilds the ModRM byte from its fields', () => {
    const M32 = CpuMode.Bits32;
    expect(rexOf(dec(M64, '4d 8b 44 24 08').insn)).toBe(0xd); // mov r8, [r12+8]: W R B
    expect(rexOf(dec(M64, '8b 44 24 08').insn)).toBe(0);
    expect(dec(M64, '4d 8b 44 24 08').insn.prefixes & PREFIX_REX).toBe(PREFIX_REX);
    // mov r8, [r12+8]: ModRM 44 with REX.R and REX.B set (reg 8, rm 12 decoded).
    expect(modrmOf(dec(M64, '4d 8b 44 24 08').insn)).toBe(0x44);
    for (const [hex, modrm] of [['8b 44 24 08', 0x44], ['d8 c3', 0xc3], ['dd 9d 78 56 34 12', 0x9d], ['0f 20 c0', 0xc0], ['0f 22 58', 0x58]] as const) {
      expect(modrmOf(dec(M32, hex).insn), hex).toBe(modrm);
    }
    expect(modrmOf(dec(M32, '90').insn)).toBe(0);
  });

  it('shares one detail between instructions encoded alike, and interns a bounded number', () => {
    const a = dec(M64, '48 8b 44 24 08').insn;
    const b = dec(M64, '48 8b 4c 24 10').insn;
    expect(a.detail).toBe(b.detail);
    expect(a.detail).not.toBe(dec(M64, '48 8b 40 08').insn.detail); // no SIB byte
    const f = newDetailFields();
    for (let order = 0; order < 1 << 12; order++) {
      for (let mod = 0; mod < 4; mod++) {
        f.prefixOrder = order;
        f.mod = mod;
        f.hasModrm = true;
        const d = internDetail(f);
        expect([d.prefixOrder, d.mod]).toEqual([order, mod]);
      }
    }
    expect(internedDetails()).toBeLessThanOrEqual(MAX_INTERNED_DETAILS);
    expect(internedDetails()).toBeGreaterThan(MAX_INTERNED_DETAILS / 2);
  });

  it('forces 64-bit operand size on near branches (Intel ignores 66)', () => {
    const { status, insn } = dec(M64, '66 e8 00 00 00 00');
    expect(status).toBe(DecodeStatus.Ok);
    expect(insn.length).toBe(6);
    expect(insn.opSize).toBe(8);
  });

  it('decodes MOV r64, imm64 into two 32-bit halves', () => {
    const { insn } = dec(M64, '49 b8 88 77 66 55 44 33 22 11');
    expect(insn.length).toBe(10);
    expect(insn.imm >>> 0).toBe(0x55667788);
    expect(insn.detail.immHi >>> 0).toBe(0x11223344);
    expect(rexOf(insn) & 1).toBe(1);
  });

  it('sign-extends imm32 into immHi for 64-bit operations', () => {
    const { insn } = dec(M64, '48 c7 c0 f0 ff ff ff');
    expect(insn.imm).toBe(-16);
    expect(insn.detail.immHi).toBe(-1);
  });

  it('uses RIP-relative addressing for mod=00 rm=101, even with REX.B', () => {
    for (const hex of ['8b 05 10 00 00 00', '41 8b 05 10 00 00 00']) {
      const { insn } = dec(M64, hex);
      expect(insn.detail.ripRelative).toBe(true);
      expect(insn.base).toBe(-1);
      expect(insn.disp).toBe(0x10);
    }
    const legacy = dec(M32, '8b 05 10 00 00 00').insn;
    expect(legacy.detail.ripRelative).toBe(false);
    expect(legacy.base).toBe(-1);
  });

  it('uses r13 as a base with mod=01 and needs a SIB byte for r12', () => {
    const r13 = dec(M64, '41 8b 45 08').insn;
    expect(r13.base).toBe(13);
    expect(r13.disp).toBe(8);
    expect(r13.segment).toBe(SEG_DS);
    const r12 = dec(M64, '41 8b 04 24').insn;
    expect(r12.detail.hasSib).toBe(true);
    expect(r12.base).toBe(12);
    expect(r12.index).toBe(-1);
  });

  it('accepts r12 as an index register (REX.X with SIB index=100)', () => {
    const withX = dec(M64, '4a 8b 04 20').insn;
    expect(withX.index).toBe(12);
    expect(withX.base).toBe(0);
    const withoutX = dec(M64, '48 8b 04 20').insn;
    expect(withoutX.index).toBe(-1);
  });

  it('reads a 64-bit moffs and a 32-bit one with 67', () => {
    const wide = dec(M64, '48 a1 88 77 66 55 44 33 22 11').insn;
    expect(wide.length).toBe(10);
    expect(wide.disp).toBe(0x55667788);
    expect(wide.detail.dispHi).toBe(0x11223344);
    expect(dec(M64, '67 a1 44 33 22 11').insn.length).toBe(6);
  });

  it('only allows SWAPGS in 64-bit mode', () => {
    expect(dec(M64, '0f 01 f8').insn.entry.mnemonic).toBe('swapgs');
    expect(dec(M32, '0f 01 f8').status).toBe(DecodeStatus.Invalid);
  });

  it('names byte registers 4-7 SPL..DIL with any REX and AH..BH without', () => {
    const rex = dec(M64, '40 88 e0').insn;
    expect(byteRegIsHigh(rex, rex.rm)).toBe(false);
    const legacy = dec(M64, '88 e0').insn;
    expect(legacy.reg).toBe(4);
    expect(byteRegIsHigh(legacy, legacy.reg)).toBe(true);
  });

  it('ignores a REX prefix that is followed by a legacy prefix', () => {
    const { insn } = dec(M64, '48 66 01 c0');
    expect(insn.opSize).toBe(2);
    expect(insn.prefixes & PREFIX_REX).toBe(0);
  });
});

describe('mode selection', () => {
  it('derives the decoding mode from EFER.LMA, CS.L and CS.D', () => {
    expect(cpuModeOf(true, true, false)).toBe(CpuMode.Bits64);
    expect(cpuModeOf(true, false, true)).toBe(CpuMode.Bits32); // compatibility mode
    expect(cpuModeOf(false, false, false)).toBe(CpuMode.Bits16);
    expect(cpuModeOf(false, true, true)).toBe(CpuMode.Bits32); // CS.L means nothing outside long mode
  });
});

describe('ModRM and SIB forms', () => {
  it('decodes the 16-bit base/index pairs and disp16-only rm=110', () => {
    const bxsi = dec(M16, '8b 00').insn;
    expect([bxsi.base, bxsi.index]).toEqual([3, 6]);
    const bpdi = dec(M16, '8b 43 fe').insn;
    expect([bpdi.base, bpdi.index, bpdi.disp, bpdi.segment]).toEqual([5, 7, -2, SEG_SS]);
    const abs = dec(M16, '8b 06 34 12').insn;
    expect([abs.base, abs.index, abs.disp, abs.length]).toEqual([-1, -1, 0x1234, 4]);
    const bp = dec(M16, '8b 46 00').insn;
    expect([bp.base, bp.segment]).toEqual([5, SEG_SS]);
  });

  it('switches between 16- and 32-bit addressing with 67', () => {
    const a32in16 = dec(M16, '67 8b 04 24').insn;
    expect(a32in16.addrSize).toBe(4);
    expect(a32in16.detail.hasSib).toBe(true);
    expect(a32in16.segment).toBe(SEG_SS);
    const a16in32 = dec(M32, '67 8b 00').insn;
    expect(a16in32.addrSize).toBe(2);
    expect([a16in32.base, a16in32.index]).toEqual([3, 6]);
  });

  it('combines operand- and address-size prefixes independently', () => {
    const both = dec(M32, '66 67 8b 47 02').insn;
    expect([both.opSize, both.addrSize, both.base, both.disp]).toEqual([2, 2, 3, 2]);
    const o32 = dec(M16, '66 b8 78 56 34 12').insn;
    expect([o32.opSize, o32.imm, o32.length]).toEqual([4, 0x12345678, 6]);
  });

  it('decodes SIB with no base (mod=00 base=101) as disp32', () => {
    const { insn } = dec(M32, '8b 04 8d 10 00 00 00');
    expect([insn.base, insn.index, insn.scale, insn.disp, insn.length]).toEqual([-1, 1, 2, 0x10, 7]);
  });

  it('defaults to SS for EBP/ESP bases and honours the last segment override', () => {
    expect(dec(M32, '8b 45 00').insn.segment).toBe(SEG_SS);
    expect(dec(M32, '8b 04 24').insn.segment).toBe(SEG_SS);
    const last = dec(M32, '26 64 8b 00').insn;
    expect(last.detail.segOverride).toBe(SEG_FS);
    expect(last.segment).toBe(SEG_FS);
    expect(dec(M32, '64 65 8b 45 00').insn.segment).toBe(SEG_GS);
  });

  it('treats mod as ignored for MOV to/from control registers', () => {
    const { status, insn } = dec(M32, '0f 20 00');
    expect(status).toBe(DecodeStatus.Ok);
    expect(insn.length).toBe(3);
    expect(insn.isMem).toBe(false);
  });
});

describe('prefix rules', () => {
  it('lets the last of F2/F3 win', () => {
    expect(dec(M32, 'f2 f3 a4').insn.prefixes & (PREFIX_REP | PREFIX_REPNE)).toBe(PREFIX_REP);
    expect(dec(M32, 'f3 f2 a4').insn.prefixes & (PREFIX_REP | PREFIX_REPNE)).toBe(PREFIX_REPNE);
  });

  it('rejects LOCK on register destinations and non-lockable instructions', () => {
    expect(dec(M32, 'f0 01 c0').status).toBe(DecodeStatus.LockInvalid);
    expect(dec(M32, 'f0 8b 00').status).toBe(DecodeStatus.LockInvalid);
    expect(dec(M32, 'f0 90').status).toBe(DecodeStatus.LockInvalid);
    expect(dec(M32, 'f0 80 38 01').status).toBe(DecodeStatus.LockInvalid); // CMP
    const ok = dec(M32, 'f0 0f c7 0e');
    expect(ok.status).toBe(DecodeStatus.Ok);
    expect(ok.insn.prefixes & PREFIX_LOCK).toBeTruthy();
    expect(dec(M32, 'f0 01 00').status).toBe(DecodeStatus.Ok);
  });

  it('reports instructions longer than 15 bytes without fetching byte 16', () => {
    const fetched: number[] = [];
    const make = (hex: string) => {
      const bytes = hex.split(' ').map((b) => parseInt(b, 16));
      return { fetch8: (a: number) => { fetched.push(a); return bytes[a] ?? 0; } };
    };
    const insn = newInstruction();
    const fifteen = Array(11).fill('66').join(' ') + ' 81 c0 34 12';
    expect(decode(make(fifteen), 0, M32, insn)).toBe(DecodeStatus.Ok);
    expect(insn.length).toBe(MAX_INSTRUCTION_LENGTH);
    fetched.length = 0;
    const sixteen = Array(12).fill('66').join(' ') + ' 81 c0 34 12';
    expect(decode(make(sixteen), 0, M32, insn)).toBe(DecodeStatus.TooLong);
    expect(Math.max(...fetched)).toBeLessThan(MAX_INSTRUCTION_LENGTH);
    fetched.length = 0;
    expect(decode(make(Array(20).fill('66').join(' ')), 0, M32, insn)).toBe(DecodeStatus.TooLong);
    expect(Math.max(...fetched)).toBeLessThan(MAX_INSTRUCTION_LENGTH);
  });

  it('lets a faulting ByteSource throw through decode', () => {
    const fault = { vector: 14 };
    // 0F 01 needs a ModRM byte, which faults.
    const src = { fetch8: (a: number) => { if (a >= 2) throw fault; return [0x0f, 0x01][a]; } };
    expect(() => decode(src, 0, M32, newInstruction())).toThrow();
    try { decode(src, 0, M32, newInstruction()); } catch (e) { expect(e).toBe(fault); }
  });
});

describe('opcode selection', () => {
  it('decodes 90 as NOP, F3 90 as PAUSE and 41 90 as XCHG r8,rax', () => {
    expect(dec(M32, '90').insn.entry.mnemonic).toBe('nop');
    expect(dec(M32, 'f3 90').insn.entry.mnemonic).toBe('pause');
    expect(dec(M64, '48 90').insn.entry.mnemonic).toBe('nop');
    const x = dec(M64, '41 90').insn;
    expect(x.entry.mnemonic).toBe('xchg');
    expect(x.opSize).toBe(4);
  });

  it.each([
    ['0f 1f 00', 3], ['0f 1f 40 00', 4], ['0f 1f 44 00 00', 5], ['66 0f 1f 44 00 00', 6],
    ['0f 1f 80 00 00 00 00', 7], ['0f 1f 84 00 00 00 00 00', 8], ['66 0f 1f 84 00 00 00 00 00', 9],
  ])('decodes the recommended multi-byte NOP %s as %i bytes', (hex, len) => {
    for (const mode of [M32, M64]) {
      const { status, insn } = dec(mode, hex);
      expect(status).toBe(DecodeStatus.Ok);
      expect(insn.entry.mnemonic).toBe('nop');
      expect(insn.length).toBe(len);
    }
  });

  it.each(['0f 04', '0f 0a', '0f 0c', '0f 24 c0', '0f 26 c0', '0f 36', '0f 38 00 c0', '0f 3a 0f c0 00', '0f a6', '0f ff 00',
    'fe 10', 'ff 38', 'c6 08 00', '8f 08', '0f 00 30', '0f 01 28', '0f ba 00 00', '0f c7 00', '0f c7 c8', '8c 30', '8e 08',
    'd9 d8', 'dd 08'])('rejects invalid encoding %s', (hex) => {
    expect(dec(M32, hex).status).toBe(DecodeStatus.Invalid);
  });

  it.each(['0f 10 00', '0f 28 c1', '0f 58 c1', '66 0f 6f c1', 'f3 0f 10 c1', 'f2 0f 58 c1', '0f ae 10', '0f ae e8', '0f 77', '0f 0d 00',
    '0f 18 00', '0f 6f c1', '0f c3 00'])('rejects out-of-scope MMX/SSE opcode %s as invalid', (hex) => {
    expect(dec(M32, hex).status).toBe(DecodeStatus.Invalid);
    expect(dec(M64, hex).status).toBe(DecodeStatus.Invalid);
  });

  it('decodes FXSAVE/FXRSTOR (0F AE /0 /1, memory only) and FXSAVE64 with REX.W', () => {
    expect(dec(M32, '0f ae 00').insn.entry.key).toBe('fxsave_M');
    expect(dec(M32, '0f ae 08').insn.entry.key).toBe('fxrstor_M');
    expect(dec(M32, '0f ae c0').status).toBe(DecodeStatus.Invalid);
    expect(dec(M64, '48 0f ae 00').insn.opSize).toBe(8);
  });

  it('selects x87 forms by mod and reg, and exact register encodings', () => {
    expect(dec(M32, 'd9 e8').insn.entry.mnemonic).toBe('fld1');
    expect(dec(M32, 'd9 c1').insn.entry.key).toBe('fld_STi');
    expect(dec(M32, 'd9 00').insn.entry.key).toBe('fld_M32fp');
    expect(dec(M32, 'dc e9').insn.entry.mnemonic).toBe('fsub');
    expect(dec(M32, 'df e0').insn.entry.key).toBe('fnstsw_AX');
  });

  it('decodes CMPXCHG8B and CMPXCHG16B (REX.W) from the same row', () => {
    const w = dec(M64, '48 0f c7 0e').insn;
    expect(w.opSize).toBe(8);
    expect(w.entry.names[2]).toBe('cmpxchg16b');
  });

  it('reads far pointers and ENTER immediates into imm and imm2', () => {
    const far32 = dec(M32, 'ea 78 56 34 12 34 12').insn;
    expect([far32.imm, far32.detail.imm2, far32.length]).toEqual([0x12345678, 0x1234, 7]);
    const far16 = dec(M16, 'ea 34 12 00 f0').insn;
    expect([far16.imm, far16.detail.imm2, far16.length]).toEqual([0x1234, 0xf000, 5]);
    const enter = dec(M32, 'c8 10 00 05').insn;
    expect([enter.imm, enter.detail.imm2]).toEqual([0x10, 5]);
  });

  it('sign-extends Ibs and branch offsets but not Ib', () => {
    expect(dec(M32, '83 c0 f0').insn.imm).toBe(-16);
    expect(dec(M32, 'c1 e0 f0').insn.imm).toBe(0xf0);
    expect(dec(M32, 'eb fe').insn.imm).toBe(-2);
    expect(dec(M16, 'e9 fd ff').insn.imm).toBe(-3);
  });

  it('refills every field when an Instruction object is reused', () => {
    const insn = newInstruction();
    const a = [0x64, 0xf0, 0x01, 0x44, 0x24, 0x08];
    decode({ fetch8: (x: number) => a[x] }, 0, M32, insn);
    expect(insn.isMem).toBe(true);
    const b = [0x90];
    decode({ fetch8: (x: number) => b[x] }, 0, M32, insn);
    expect([insn.isMem, insn.detail.segOverride, insn.prefixes, insn.detail.hasSib, insn.disp, insn.length]).toEqual([false, -1, 0, false, 0, 1]);
  });

  it('flags block ends, privilege and lockability from the table', () => {
    expect(dec(M32, '0f 22 c0').insn.entry.blockEnd).toBe(true);
    expect(dec(M32, '0f 22 c0').insn.entry.privileged).toBe(true);
    expect(dec(M32, 'f4').insn.entry.blockEnd).toBe(true);
    expect(dec(M32, '01 c0').insn.entry.blockEnd).toBeUndefined();
  });
});
