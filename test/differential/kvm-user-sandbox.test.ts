// The CPL3 long-mode sandbox on the real CPU: results and flags of known instructions,
// memory round trips, exceptions with the state at the fault, bounded runs, and a batch of
// random ALU sequences checked against a BigInt model (with the runs/second printed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kvmUsable } from '../support/tsemu-process.js';
import {
  CODE_BASE, DATA_BASE, DATA_SIZE, DONE_VA, INPUT_RFLAGS_MASK, KvmUserSandbox, STACK_TOP, SandboxError, USER_CS, USER_DS, USER_STACK_SIZE,
  type SandboxInput,
} from './kvm-user-sandbox.js';

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RDI = 7;
const CF = 1n << 0n, PF = 1n << 2n, AF = 1n << 4n, ZF = 1n << 6n, SF = 1n << 7n, DF = 1n << 10n, OF = 1n << 11n;
const IF = 1n << 9n;
const FIXED = 0x2n | IF; // bit 1 and IF, forced on in every run
const M64 = (1n << 64n) - 1n;

const code = (...bytes: number[]): Uint8Array => new Uint8Array(bytes);

/** Distinct, recognisable register values; RSP at the top of the user stack. */
function baseGprs(): bigint[] {
  const g = Array.from({ length: 16 }, (_, i) => 0x1111_0000_0000_0000n * BigInt(i % 15) + BigInt(i) * 0x101n);
  g[RSP] = STACK_TOP;
  return g;
}

function input(bytes: Uint8Array, patch: Partial<SandboxInput> = {}, gpr: Record<number, bigint> = {}): SandboxInput {
  const g = baseGprs();
  for (const [i, v] of Object.entries(gpr)) g[Number(i)] = v;
  return { code: bytes, gpr: g, rflags: 0n, ...patch };
}

// ---- a tiny encoder and BigInt model for reg,reg ALU forms (SDM Vol. 2 ADD/SUB/XOR/IMUL) ----
type Op = 'add' | 'sub' | 'xor' | 'imul';

function encode(op: Op, dst: number, src: number): number[] {
  if (op === 'imul') {
    // IMUL r64, r/m64: REX.W 0F AF /r, reg = destination.
    return [0x48 | ((dst >> 3) << 2) | (src >> 3), 0x0f, 0xaf, 0xc0 | ((dst & 7) << 3) | (src & 7)];
  }
  // ADD/SUB/XOR r/m64, r64: REX.W 01/29/31 /r, rm = destination.
  const opcode = { add: 0x01, sub: 0x29, xor: 0x31 }[op];
  return [0x48 | ((src >> 3) << 2) | (dst >> 3), opcode, 0xc0 | ((src & 7) << 3) | (dst & 7)];
}

const signed = (v: bigint): bigint => BigInt.asIntN(64, v);
const parity = (v: bigint): boolean => {
  let b = Number(v & 0xffn);
  b ^= b >> 4;
  b ^= b >> 2;
  b ^= b >> 1;
  return (b & 1) === 0;
};

/** Result and the flags the SDM defines for the operation (mask = which flags are defined). */
function model(op: Op, a: bigint, b: bigint): { value: bigint; flags: bigint; mask: bigint } {
  const szp = (r: bigint): bigint => (r === 0n ? ZF : 0n) | (r >> 63n ? SF : 0n) | (parity(r) ? PF : 0n);
  switch (op) {
    case 'add': {
      const r = (a + b) & M64;
      const of = (~(a ^ b) & (a ^ r)) >> 63n;
      return { value: r, flags: szp(r) | (a + b > M64 ? CF : 0n) | (of ? OF : 0n) | ((a ^ b ^ r) & AF), mask: CF | PF | AF | ZF | SF | OF };
    }
    case 'sub': {
      const r = (a - b) & M64;
      const of = ((a ^ b) & (a ^ r)) >> 63n;
      return { value: r, flags: szp(r) | (a < b ? CF : 0n) | (of ? OF : 0n) | ((a ^ b ^ r) & AF), mask: CF | PF | AF | ZF | SF | OF };
    }
    case 'xor': {
      const r = a ^ b;
      return { value: r, flags: szp(r), mask: CF | PF | ZF | SF | OF }; // AF undefined
    }
    case 'imul': {
      const full = signed(a) * signed(b);
      const r = full & M64;
      return { value: r, flags: signed(r) === full ? 0n : CF | OF, mask: CF | OF }; // SF ZF AF PF undefined
    }
  }
}

/** splitmix64: a seeded, reproducible source of 64-bit values. */
function rng(seed: bigint): () => bigint {
  let s = seed;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & M64;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
    return z ^ (z >> 31n);
  };
}

const canRun = kvmUsable();

describe.skipIf(!canRun).each([{ syncRegs: true }, { syncRegs: false }])('KvmUserSandbox (syncRegs: $syncRegs)', ({ syncRegs }) => {
  let sandbox: KvmUserSandbox;
  beforeAll(() => {
    sandbox = KvmUserSandbox.open({ syncRegs });
  });
  afterAll(() => sandbox?.close());

  it('computes add rax, rbx and its six arithmetic flags as the SDM defines them', () => {
    // 0x7fff...ffff + 1: signed overflow, result negative, carry out of bit 3, low byte 0 (even parity).
    const r1 = sandbox.run(input(code(0x48, 0x01, 0xd8), {}, { [RAX]: 0x7fff_ffff_ffff_ffffn, [RBX]: 1n }));
    expect(r1.end).toBe('completed');
    expect(r1.gpr[RAX]).toBe(0x8000_0000_0000_0000n);
    expect(r1.rflags).toBe(FIXED | OF | SF | AF | PF);
    expect(r1.rip).toBe(CODE_BASE + 3n);
    // 0xffff...ffff + 1 = 0 with carry; and the input CF/OF/SF are all replaced.
    const r2 = sandbox.run(input(code(0x48, 0x01, 0xd8), { rflags: OF | SF }, { [RAX]: M64, [RBX]: 1n }));
    expect(r2.gpr[RAX]).toBe(0n);
    expect(r2.rflags).toBe(FIXED | CF | ZF | AF | PF);
    // 0x12 + 0x34 = 0x46: no flag but PF (0x46 has three bits set: odd parity, so PF clear).
    const r3 = sandbox.run(input(code(0x48, 0x01, 0xd8), {}, { [RAX]: 0x12n, [RBX]: 0x34n }));
    expect(r3.gpr[RAX]).toBe(0x46n);
    expect(r3.rflags).toBe(FIXED);
  });

  it('takes CF and DF from the input flags and forces IF on', () => {
    // adc rax, rbx (48 11 D8) adds the input CF; pushfq; pop rcx (9C 59) shows the live RFLAGS.
    const r = sandbox.run(input(code(0x48, 0x11, 0xd8, 0x9c, 0x59), { rflags: CF | DF | (1n << 8n) }, { [RAX]: 5n, [RBX]: 7n }));
    expect(r.gpr[RAX]).toBe(13n);
    expect(r.gpr[RCX]).toBe(FIXED | DF); // TF (bit 8) was dropped; adc cleared CF
    expect(r.rflags & INPUT_RFLAGS_MASK).toBe(DF);
    // The pushfq wrote the user stack, and RSP is back at the top.
    expect(r.gpr[RSP]).toBe(STACK_TOP);
    expect(new DataView(r.stack.buffer).getBigUint64(USER_STACK_SIZE - 8, true)).toBe(FIXED | DF);
  });

  it('returns the bytes a sequence wrote to the data area, keeps the rest of the input data, and starts the next run fresh', () => {
    const data = new Uint8Array(DATA_SIZE);
    data.fill(0x5a, 0, 0x200);
    // mov [rdi], rax (48 89 07); mov [rdi+8], ebx (89 5F 08); mov byte [rdi+0xffff-0x100], dl (88 97 imm32)
    const r = sandbox.run(
      input(code(0x48, 0x89, 0x07, 0x89, 0x5f, 0x08, 0x88, 0x97, 0xff, 0xfe, 0x00, 0x00), { data }, {
        [RDI]: DATA_BASE + 0x100n, [RAX]: 0x0123_4567_89ab_cdefn, [RBX]: 0xdead_beefn, [RDX]: 0x77n,
      }),
    );
    expect(r.end).toBe('completed');
    const dv = new DataView(r.data.buffer);
    expect(dv.getBigUint64(0x100, true)).toBe(0x0123_4567_89ab_cdefn);
    expect(dv.getUint32(0x108, true)).toBe(0xdead_beef);
    expect(r.data[0xffff]).toBe(0x77);
    expect(r.data[0x10c]).toBe(0x5a);
    expect(r.data[0xff]).toBe(0x5a);
    expect(r.data[0x200]).toBe(0);
    // Without input data the area is zero again: nothing leaks from the previous run.
    const next = sandbox.run(input(code(0x90)));
    expect(next.data.every((b) => b === 0)).toBe(true);
  });

  it('reports a divide by zero as vector 0 at the div, with every GPR as it was at the fault', () => {
    // nop; xor ecx, ecx; div rcx
    const before = input(code(0x90, 0x31, 0xc9, 0x48, 0xf7, 0xf1));
    const r = sandbox.run(before);
    expect(r.end).toBe('exception');
    expect(r.exception).toEqual({ vector: 0, errorCode: null, pageFaultAddress: null });
    expect(r.rip).toBe(CODE_BASE + 3n);
    const expected = [...before.gpr];
    expected[RCX] = 0n;
    expect(r.gpr).toEqual(expected);
    // xor set ZF and PF; RF from the delivery is not reported.
    expect(r.rflags).toBe(FIXED | ZF | PF);
  });

  it('reports ud2 as vector 6 (#UD) at the ud2', () => {
    const r = sandbox.run(input(code(0x90, 0x90, 0x0f, 0x0b)));
    expect(r.exception).toEqual({ vector: 6, errorCode: null, pageFaultAddress: null });
    expect(r.rip).toBe(CODE_BASE + 2n);
  });

  it('reports a load from a non-present page as #PF with the U bit, the address in CR2 and RIP at the load', () => {
    // nop; mov rax, [rbx]
    const r = sandbox.run(input(code(0x90, 0x48, 0x8b, 0x03), {}, { [RBX]: 0x2000_0000n }));
    expect(r.exception).toEqual({ vector: 14, errorCode: 0x4, pageFaultAddress: 0x2000_0000n }); // U=1, read, not present
    expect(r.rip).toBe(CODE_BASE + 1n);
    expect(r.gpr[RBX]).toBe(0x2000_0000n);
  });

  it('reports a store to the read-only code page as #PF with P, W and U set', () => {
    // mov byte [rip-7], 1: the store targets the instruction's own first byte
    const r = sandbox.run(input(code(0xc6, 0x05, 0xf9, 0xff, 0xff, 0xff, 0x01)));
    expect(r.exception).toEqual({ vector: 14, errorCode: 0x7, pageFaultAddress: CODE_BASE });
    expect(r.rip).toBe(CODE_BASE);
  });

  it.each([
    ['hlt', [0xf4]],
    ['cli', [0xfa]],
    ['out dx, al', [0xee]],
  ])('reports the privileged %s at CPL3 with IOPL 0 as #GP(0)', (_name, bytes) => {
    const r = sandbox.run(input(code(0x90, ...bytes)));
    expect(r.exception).toEqual({ vector: 13, errorCode: 0, pageFaultAddress: null });
    expect(r.rip).toBe(CODE_BASE + 1n);
  });

  it('reports int3 as #BP with RIP after it, and a jump past the end lands on INT3 fill', () => {
    const r = sandbox.run(input(code(0x90, 0xcc)));
    expect(r.exception?.vector).toBe(3);
    expect(r.rip).toBe(CODE_BASE + 2n);
    const past = sandbox.run(input(code(0xeb, 0x40))); // jmp +0x40
    expect(past.exception?.vector).toBe(3);
    expect(past.rip).toBe(CODE_BASE + 0x43n);
  });

  it('stops a sequence that loops forever at the time bound and runs the next one normally', () => {
    const started = performance.now();
    const r = sandbox.run(input(code(0x48, 0xff, 0xc0, 0xeb, 0xfb), { timeoutMs: 200 })); // inc rax; jmp -5
    const elapsed = performance.now() - started;
    expect(r.end).toBe('timeout');
    expect(r.exception).toBeNull();
    expect(r.rip === CODE_BASE || r.rip === CODE_BASE + 3n).toBe(true);
    expect(r.gpr[RAX]).toBeGreaterThan(baseGprs()[RAX]);
    expect(elapsed).toBeGreaterThanOrEqual(200);
    expect(elapsed).toBeLessThan(5000);
    const next = sandbox.run(input(code(0x48, 0x01, 0xd8), {}, { [RAX]: 1n, [RBX]: 2n }));
    expect(next.end).toBe('completed');
    expect(next.gpr[RAX]).toBe(3n);
  });

  it('throws SandboxError when code touches the completion page itself, and stays usable', () => {
    // mov [rbx], al (a store) then mov al, [rbx] (a load that waits for MMIO data)
    for (const bytes of [code(0x88, 0x03, 0x90), code(0x8a, 0x03, 0x90)]) {
      expect(() => sandbox.run(input(bytes, {}, { [RBX]: DONE_VA }))).toThrow(SandboxError);
      const next = sandbox.run(input(code(0x48, 0x01, 0xd8), {}, { [RAX]: 40n, [RBX]: 2n }));
      expect(next.end).toBe('completed');
      expect(next.gpr[RAX]).toBe(42n);
      expect(next.rip).toBe(CODE_BASE + 3n);
    }
  });

  it('shows user code the selectors of a Linux 64-bit process, and resets a DS a run loaded', () => {
    // mov eax, cs; mov ecx, ss; mov edx, ds; mov ebx, fs
    const r = sandbox.run(input(code(0x8c, 0xc8, 0x8c, 0xd1, 0x8c, 0xda, 0x8c, 0xe3)));
    expect([r.gpr[RAX], r.gpr[RCX], r.gpr[RDX], r.gpr[RBX]].map((v) => v & 0xffffn)).toEqual([BigInt(USER_CS), BigInt(USER_DS), 0n, 0n]);
    expect(USER_CS).toBe(0x33);
    expect(USER_DS).toBe(0x2b);
    sandbox.run(input(code(0xb8, 0x2b, 0, 0, 0, 0x8e, 0xd8))); // mov eax, 0x2b; mov ds, eax
    const after = sandbox.run(input(code(0x8c, 0xd8))); // mov eax, ds
    expect(after.gpr[RAX] & 0xffffn).toBe(0n);
  });

  it('runs 1,000 random add/sub/xor/imul sequences matching a BigInt model, and reports runs/second', () => {
    const next = rng(syncRegs ? 0x5eed_0001n : 0x5eed_0002n);
    const ops: Op[] = ['add', 'sub', 'xor', 'imul'];
    const runs = 1000;
    let kvmMs = 0;
    for (let n = 0; n < runs; n++) {
      const gpr = Array.from({ length: 16 }, () => next());
      const rflags = next() & INPUT_RFLAGS_MASK;
      const bytes: number[] = [];
      const expected = [...gpr];
      let last = { flags: 0n, mask: 0n };
      const count = 1 + Number(next() % 8n);
      for (let i = 0; i < count; i++) {
        const op = ops[Number(next() % 4n)];
        const dst = Number(next() % 16n);
        const src = Number(next() % 16n);
        bytes.push(...encode(op, dst, src));
        const m = model(op, expected[dst], expected[src]);
        expected[dst] = m.value;
        last = m;
      }
      const t = performance.now();
      const r = sandbox.run({ code: new Uint8Array(bytes), gpr, rflags });
      kvmMs += performance.now() - t;
      expect(r.end).toBe('completed');
      expect(r.gpr).toEqual(expected);
      expect(r.rip).toBe(CODE_BASE + BigInt(bytes.length));
      expect(r.rflags & last.mask).toBe(last.flags);
      expect(r.rflags & DF).toBe(rflags & DF);
    }
    const perSecond = Math.round(runs / (kvmMs / 1000));
    console.log(`KvmUserSandbox (syncRegs ${sandbox.usesSyncRegs}): ${runs} runs in ${kvmMs.toFixed(0)} ms = ${perSecond} runs/s`);
    expect(perSecond).toBeGreaterThan(0);
  });
});
