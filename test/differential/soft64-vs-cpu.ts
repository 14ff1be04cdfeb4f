/**
 * Support for the 64-bit differential tests (*64*-vs-cpu.test.ts): one instruction sequence
 * runs natively at CPL3 in 64-bit mode through the KVM sandbox and, as whole instructions, on
 * the software CPU in the long-mode test machine at the same addresses (code at CODE_BASE,
 * data at DATA_BASE, stack below STACK_TOP), and the two outcomes are compared: how the run
 * ended (completed, or the exception vector and RIP), all 16 GPRs, the six arithmetic flags
 * and DF, and the data area.
 *
 * The test machine maps all of its RAM, while the sandbox fences its regions with
 * non-present pages: cases must keep their memory accesses inside the data area and the
 * stack (generators do), so page faults are not part of these comparisons.
 */
import { ARITH_FLAGS } from '../../packages/core-cpu/src/alu/lazy-flags.js';
import { longModeMachine, type LongModeMachine } from '../../packages/core-cpu/test/interp/long-mode-machine.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, KvmUserSandbox, STACK_TOP } from './kvm-user-sandbox.js';

export const CODE = Number(CODE_BASE);
export const DATA = Number(DATA_BASE);
export const STACK = Number(STACK_TOP);
const DF = 0x400;
const COMPARED_FLAGS = ARITH_FLAGS | DF;
/** Vectors that push an error code (the machine's frame then starts with it). */
const ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

export interface Case {
  /** Shown in mismatch reports. */
  name: string;
  code: number[];
  /** 16 GPRs in encoding order (RSP defaults to STACK_TOP - 0x100 when left 0). */
  gpr: bigint[];
  /** Incoming CF PF AF ZF SF DF OF. */
  flags: number;
  /** Initial data area contents (zero-filled to DATA_SIZE). */
  data?: Uint8Array;
}

const hex = (v: bigint | number) => `0x${BigInt.asUintN(64, BigInt(v)).toString(16)}`;

/** A 64-bit pseudo-random source (xorshift64*), deterministic per seed. */
export class Rng {
  private s: bigint;

  constructor(seed: number) {
    this.s = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
  }

  u64(): bigint {
    let x = this.s;
    x ^= x >> 12n;
    x ^= (x << 25n) & 0xffffffffffffffffn;
    x ^= x >> 27n;
    this.s = x;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  }

  int(n: number): number {
    return Number(this.u64() % BigInt(n));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** An operand value: often an edge (0, 1, sign bits, all ones, a half boundary), else random. */
  value(): bigint {
    const edges = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
      0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xffffffff00000000n];
    switch (this.int(4)) {
      case 0:
        return this.pick(edges);
      case 1:
        return this.u64() >> BigInt(this.int(64));
      default:
        return this.u64();
    }
  }

  /** Random values for all 16 GPRs (RSP set aside for the stack). */
  gprs(): bigint[] {
    const g = Array.from({ length: 16 }, () => this.value());
    g[4] = BigInt(STACK - 0x100);
    return g;
  }

  flags(): number {
    return Number(this.u64() & BigInt(ARITH_FLAGS));
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      let v = this.u64();
      for (let j = 0; j < 8 && i + j < n; j++, v >>= 8n) out[i + j] = Number(v & 0xffn);
    }
    return out;
  }
}

/** Runs cases on both CPUs; collects mismatch descriptions. */
export class Soft64VsCpu {
  readonly mismatches: string[] = [];
  compared = 0;
  faults = 0;
  private readonly machine: LongModeMachine;
  private readonly zero = new Uint8Array(DATA_SIZE);

  private constructor(private readonly sandbox: KvmUserSandbox) {
    this.machine = longModeMachine({ cpl: 3, ramSize: 0x1000000 });
  }

  static open(): Soft64VsCpu {
    return new Soft64VsCpu(KvmUserSandbox.open());
  }

  close(): void {
    this.sandbox.close();
  }

  compare(c: Case): void {
    const gpr = c.gpr.map((v) => BigInt.asUintN(64, v));
    if (gpr[4] === 0n) gpr[4] = BigInt(STACK - 0x100);
    const data = new Uint8Array(DATA_SIZE);
    if (c.data) data.set(c.data);
    const hw = this.sandbox.run({ code: Uint8Array.from(c.code), gpr, rflags: BigInt(c.flags | 2), data });

    const m = this.machine;
    const cpu = m.cpu;
    m.memory.writeBytes(DATA, data);
    m.memory.writeBytes(STACK - 0x1000, this.zero.subarray(0, 0x1000));
    for (let n = 0; n < 16; n++) cpu.regs.gpr.set64(n, gpr[n]);
    cpu.regs.flags.set((c.flags & COMPARED_FLAGS) | 0x202);
    cpu.lastException = -1;
    m.load(c.code, CODE);
    let stop: string;
    try {
      stop = m.run(100000);
    } catch (e) {
      this.report(c, `host error: ${(e as Error).message}`);
      return;
    }
    this.compared++;
    const problems: string[] = [];
    const softGpr = Array.from({ length: 16 }, (_, n) => cpu.regs.gpr.get64(n));
    let softRip = BigInt(cpu.regs.rip >>> 0);
    let softFlags = cpu.regs.flags.get();
    let softEnd = stop === 'end' ? 'completed' : stop;
    if (stop === 'halt' && cpu.lastException >= 0) {
      this.faults++;
      const frame = m.frame(ERROR_CODE.has(cpu.lastException));
      softEnd = `exception ${cpu.lastException}`;
      softRip = frame.rip;
      softFlags = Number(frame.rflags);
      softGpr[4] = frame.rsp;
    }
    const hwEnd = hw.end === 'exception' ? `exception ${hw.exception!.vector}` : hw.end;
    if (softEnd !== hwEnd) problems.push(`end ${softEnd}, hardware ${hwEnd}`);
    if (softRip !== hw.rip) problems.push(`rip ${hex(softRip)}, hardware ${hex(hw.rip)}`);
    for (let n = 0; n < 16; n++) {
      if (softGpr[n] !== hw.gpr[n]) problems.push(`r${n} ${hex(softGpr[n])}, hardware ${hex(hw.gpr[n])}`);
    }
    const want = Number(hw.rflags) & COMPARED_FLAGS;
    if ((softFlags & COMPARED_FLAGS) !== want) {
      problems.push(`flags ${hex(softFlags & COMPARED_FLAGS)}, hardware ${hex(want)}`);
    }
    const softData = m.memory.view(DATA, DATA_SIZE);
    if (Buffer.compare(softData, hw.data) !== 0) {
      const at = softData.findIndex((b, i) => b !== hw.data[i]);
      problems.push(`data differs from +0x${at.toString(16)}: ${hex(softData[at])}, hardware ${hex(hw.data[at])}`);
    }
    if (problems.length > 0) this.report(c, problems.join('; '));
  }

  private report(c: Case, what: string): void {
    if (this.mismatches.length >= 20) return;
    const input = c.gpr.map((v, n) => `r${n}=${hex(v)}`).join(' ');
    this.mismatches.push(`${c.name} [${c.code.map((b) => b.toString(16).padStart(2, '0')).join(' ')}] flags=${hex(c.flags)} ${input}: ${what}`);
  }
}

/** ModRM byte. */
export const modrm = (mod: number, reg: number, rm: number) => (mod << 6) | ((reg & 7) << 3) | (rm & 7);

/** A REX prefix (always emitted, so byte registers 4-7 are SPL..DIL). */
export const rex = (w: boolean, r: number, x: number, b: number) =>
  0x40 | (w ? 8 : 0) | ((r >> 3) << 2) | ((x >> 3) << 1) | (b >> 3);

export const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
