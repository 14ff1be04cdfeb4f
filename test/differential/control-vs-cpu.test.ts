// 64-bit mode control flow and the stack against the real CPU: random sequences of Jcc (rel8
// and rel32), CALL/RET (rel32, r64, RET imm16), JMP r64, LOOP/LOOPE/LOOPNE/JRCXZ (RCX and,
// with 67, ECX), CMOVcc (16/32/64-bit), SETcc, PUSH/POP (r64, r16 with 66, imm8/imm32, m64),
// PUSHFQ/POPFQ and ENTER/LEAVE, from random registers and flags. Each sequence runs natively
// through the KVM sandbox and on the interpreter's long-mode test machine (soft64-vs-cpu.ts);
// all GPRs (RSP and RBP included), the flags, the end RIP and the data area are compared.
import { describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import { DATA, le32, modrm, Rng, rex, Soft64VsCpu, type Case } from './soft64-vs-cpu.js';

const RSP = 4;
const RDI = 7;

/** A general register other than RSP and RDI (the memory base). */
function reg(rng: Rng): number {
  for (;;) {
    const n = rng.int(16);
    if (n !== RSP && n !== RDI) return n;
  }
}

/** REX for a register in the opcode's low bits (B) with W as given; omitted when not needed. */
function rexFor(w: boolean, r: number, b: number): number[] {
  return w || r >= 8 || b >= 8 ? [rex(w, r, 0, b)] : [];
}

type Piece = (rng: Rng) => number[];

const PIECES: Record<string, Piece> = {
  jcc8: (rng) => {
    const body = PIECES.cmov(rng);
    return [0x70 + rng.int(16), body.length, ...body];
  },
  jcc32: (rng) => {
    const body = PIECES.pushPop(rng);
    return [0x0f, 0x80 + rng.int(16), ...le32(body.length), ...body];
  },
  callRet: (rng) => {
    // call f; jmp over; f: mov r, [rsp]; ret
    const r = reg(rng);
    const body = [rex(true, r, 0, 0), 0x8b, modrm(0, r, 4), 0x24, 0xc3];
    return [0xe8, ...le32(2), 0xeb, body.length, ...body];
  },
  retImm: (rng) => [0x6a, rng.int(128), 0xe8, ...le32(2), 0xeb, 3, 0xc2, 8, 0], // push; call f; jmp; f: ret 8
  callReg: (rng) => {
    // lea r, [rip + 2 + len(call)]; call r; jmp over; f: ret
    const r = reg(rng);
    const call = [...rexFor(false, 0, r), 0xff, modrm(3, 2, r)];
    return [rex(true, r, 0, 0), 0x8d, modrm(0, r, 5), ...le32(call.length + 2), ...call, 0xeb, 1, 0xc3];
  },
  jmpReg: (rng) => {
    // lea r, [rip + len(jmp) + 2]; jmp r; ud2
    const r = reg(rng);
    const jmp = [...rexFor(false, 0, r), 0xff, modrm(3, 4, r)];
    return [rex(true, r, 0, 0), 0x8d, modrm(0, r, 5), ...le32(jmp.length + 2), ...jmp, 0x0f, 0x0b];
  },
  loop: (rng) => {
    const op = rng.pick([0xe0, 0xe1, 0xe2, 0xe3]);
    const body = PIECES.cmov(rng);
    return [...(rng.int(3) === 0 ? [0x67] : []), op, body.length, ...body];
  },
  cmov: (rng) => {
    const size = rng.pick([16, 32, 64]);
    const d = reg(rng);
    const s = reg(rng);
    return [...(size === 16 ? [0x66] : []), ...rexFor(size === 64, d, s), 0x0f, 0x40 + rng.int(16), modrm(3, d, s)];
  },
  setcc: (rng) => {
    const r = reg(rng);
    return [rex(false, 0, 0, r), 0x0f, 0x90 + rng.int(16), modrm(3, 0, r)];
  },
  pushPop: (rng) => {
    const a = reg(rng);
    const b = reg(rng);
    const w16 = rng.int(4) === 0;
    const p = w16 ? [0x66] : [];
    return [...p, ...rexFor(false, 0, a), 0x50 + (a & 7), ...p, ...rexFor(false, 0, b), 0x58 + (b & 7)];
  },
  pushImm: (rng) => {
    const b = reg(rng);
    const imm = rng.int(2) ? [0x6a, rng.int(256)] : [0x68, ...le32(Number(rng.u64() & 0xffffffffn))];
    return [...imm, ...rexFor(false, 0, b), 0x58 + (b & 7)];
  },
  pushPopMem: (rng) => {
    // push qword [rdi + d1]; pop qword [rdi + d2]
    const d1 = rng.int(16) * 8;
    const d2 = rng.int(16) * 8;
    return [0xff, modrm(1, 6, RDI), d1, 0x8f, modrm(1, 0, RDI), d2];
  },
  flags: (rng) => {
    // pushfq; pop r; push imm32 (CF PF AF ZF SF DF OF only); popfq
    const r = reg(rng);
    const v = (rng.int(0x10000) & 0x8d5) | 2;
    return [0x9c, ...rexFor(false, 0, r), 0x58 + (r & 7), 0x68, ...le32(v), 0x9d];
  },
  enterLeave: (rng) => {
    // mov rbp, rsp; enter imm16, level; mov r, rsp; leave
    const r = reg(rng);
    const level = rng.int(4);
    return [0x48, 0x89, 0xe5, 0xc8, rng.int(8) * 8, 0, level, rex(true, 4, 0, r), 0x89, modrm(3, 4, r), 0xc9];
  },
};

const NAMES = Object.keys(PIECES);

function sequence(rng: Rng, index: number): Case {
  const code: number[] = [];
  const names: string[] = [];
  const count = 2 + rng.int(5);
  for (let i = 0; i < count; i++) {
    const name = i === 0 ? NAMES[index % NAMES.length] : rng.pick(NAMES);
    names.push(name);
    code.push(...PIECES[name](rng));
  }
  const gpr = rng.gprs();
  gpr[RDI] = BigInt(DATA + 0x100);
  // Counters: often small or at the 32-bit edges, so LOOP/JRCXZ take both ways.
  if (rng.int(2)) gpr[1] = rng.pick([0n, 1n, 2n, 0x100000000n, 0x100000001n, 0xffffffffn]);
  return { name: names.join(' '), code, gpr, flags: rng.flags() | (rng.int(2) ? 0x400 : 0), data: rng.bytes(0x200) };
}

describe.skipIf(!kvmUsable())('64-bit mode control flow and stack against the real CPU', () => {
  it('random branch, call/ret, loop, cmov and push/pop sequences match the hardware', () => {
    const diff = Soft64VsCpu.open();
    const rng = new Rng(0x64a);
    const cases = 2000;
    try {
      for (let i = 0; i < cases; i++) diff.compare(sequence(rng, i));
    } finally {
      diff.close();
    }
    expect(diff.mismatches).toEqual([]);
    expect(diff.compared).toBe(cases);
  });
});
