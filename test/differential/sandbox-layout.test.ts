// The sandbox memory image, checked by walking it in software (no KVM needed): page
// permissions and guard pages, the user code selector, the IDT gates and the TSS stacks.
import { describe, expect, it } from 'vitest';
import {
  CODE_BASE, CODE_FILL, CODE_MAX, CODE_PAGES, DATA_BASE, DATA_SIZE, DONE_GPA, DONE_VA, EXC_GPA, EXC_VA, GDT_GPA,
  IDT_GPA, IST1_TOP, KERNEL_CS, PAGE_SIZE, PROLOGUE_VA, RAM_SIZE, RSP0_TOP, STACK_TOP, STUBS_VA, TERMINATOR, TSS_GPA, USER_CS,
  USER_STACK_BASE, buildSandboxImage, stubAddress, writeCode,
} from './sandbox-layout.js';

interface Leaf {
  gpa: number;
  write: boolean;
  user: boolean;
  exec: boolean;
}

/** A 4-level walk (SDM Vol. 3A 4.5); null when a level is not present. Permissions are ANDed. */
function walk(ram: DataView, cr3: number, va: bigint): Leaf | null {
  let table = cr3;
  let write = true;
  let user = true;
  let exec = true;
  for (const shift of [39n, 30n, 21n, 12n]) {
    const entry = ram.getBigUint64(table + Number((va >> shift) & 0x1ffn) * 8, true);
    if ((entry & 1n) === 0n) return null;
    write &&= (entry & 2n) !== 0n;
    user &&= (entry & 4n) !== 0n;
    exec &&= (entry >> 63n) === 0n;
    table = Number(entry & 0x000f_ffff_ffff_f000n);
  }
  return { gpa: table + Number(va & 0xfffn), write, user, exec };
}

function image(): { ram: Uint8Array; dv: DataView; cr3: number } {
  const ram = new Uint8Array(RAM_SIZE);
  const cr3 = buildSandboxImage(ram);
  return { ram, dv: new DataView(ram.buffer), cr3 };
}

describe('sandbox memory image', () => {
  it('maps the code pages user read-only executable, fenced by non-present pages', () => {
    const { dv, cr3 } = image();
    const code = walk(dv, cr3, CODE_BASE);
    expect(code).toMatchObject({ write: false, user: true, exec: true });
    expect(walk(dv, cr3, CODE_BASE + BigInt(CODE_PAGES * PAGE_SIZE - 1))).toMatchObject({ user: true, exec: true });
    expect(walk(dv, cr3, CODE_BASE - 1n)).toBeNull();
    expect(walk(dv, cr3, CODE_BASE + BigInt(CODE_PAGES * PAGE_SIZE))).toBeNull();
  });

  it('maps the data area and user stack writable and not executable, fenced by non-present pages', () => {
    const { dv, cr3 } = image();
    for (const va of [DATA_BASE, DATA_BASE + BigInt(DATA_SIZE - 1), USER_STACK_BASE, STACK_TOP - 1n]) {
      expect(walk(dv, cr3, va)).toMatchObject({ write: true, user: true, exec: false });
    }
    expect(walk(dv, cr3, DATA_BASE - 1n)).toBeNull();
    expect(walk(dv, cr3, DATA_BASE + BigInt(DATA_SIZE))).toBeNull();
    expect(walk(dv, cr3, USER_STACK_BASE - 1n)).toBeNull();
    expect(walk(dv, cr3, STACK_TOP)).toBeNull();
  });

  it('points the completion page at unbacked memory users may write, the exception page at supervisor-only memory', () => {
    const { dv, cr3 } = image();
    expect(walk(dv, cr3, DONE_VA)).toEqual({ gpa: DONE_GPA, write: true, user: true, exec: false });
    expect(walk(dv, cr3, EXC_VA)).toEqual({ gpa: EXC_GPA, write: true, user: false, exec: false });
    expect(DONE_GPA).toBeGreaterThanOrEqual(RAM_SIZE);
    expect(EXC_GPA).toBeGreaterThanOrEqual(RAM_SIZE);
  });

  it('keeps kernel structures out of reach of user code', () => {
    const { dv, cr3 } = image();
    for (const va of [GDT_GPA, IDT_GPA, STUBS_VA, RSP0_TOP - 8, IST1_TOP - 8]) {
      expect(walk(dv, cr3, BigInt(va))?.user).toBe(false);
    }
    expect(walk(dv, cr3, BigInt(STUBS_VA))?.exec).toBe(true);
    expect(walk(dv, cr3, BigInt(RSP0_TOP - 8))?.write).toBe(true);
  });

  it('has a present DPL3 64-bit code descriptor behind the user CS selector', () => {
    const { dv } = image();
    const d = dv.getBigUint64(GDT_GPA + (USER_CS & ~7), true);
    const access = Number((d >> 40n) & 0xffn);
    expect(access & 0x80).toBe(0x80); // P
    expect((access >> 5) & 3).toBe(3); // DPL
    expect(access & 0x18).toBe(0x18); // S=1, code
    expect(Number((d >> 53n) & 1n)).toBe(1); // L
    expect(Number((d >> 54n) & 1n)).toBe(0); // D must be 0 when L=1
  });

  it('routes each exception vector through a present gate to its own CPL0 stub', () => {
    const { ram, dv, cr3 } = image();
    for (const v of [0, 6, 13, 14]) {
      const lo = dv.getBigUint64(IDT_GPA + v * 16, true);
      const hi = dv.getBigUint64(IDT_GPA + v * 16 + 8, true);
      const offset = (lo & 0xffffn) | (((lo >> 48n) & 0xffffn) << 16n) | ((hi & 0xffffffffn) << 32n);
      expect(offset).toBe(BigInt(stubAddress(v)));
      expect(Number((lo >> 16n) & 0xffffn)).toBe(KERNEL_CS);
      expect(Number((lo >> 40n) & 0xffn)).toBe(0x8e); // present, DPL0, interrupt gate
      // The stub stores AL to EXC_VA + vector.
      const stub = walk(dv, cr3, BigInt(stubAddress(v)))!;
      expect(ram[stub.gpa]).toBe(0xa2);
      expect(dv.getBigUint64(stub.gpa + 1, true)).toBe(EXC_VA + BigInt(v));
    }
    // int3 may be raised from CPL3 (gate DPL3), as on Linux.
    expect(Number((dv.getBigUint64(IDT_GPA + 3 * 16, true) >> 45n) & 3n)).toBe(3);
  });

  it('gives the TSS an RSP0 stack and an IST1 stack, and takes #DF on IST1', () => {
    const { dv } = image();
    expect(dv.getBigUint64(TSS_GPA + 4, true)).toBe(BigInt(RSP0_TOP));
    expect(dv.getBigUint64(TSS_GPA + 36, true)).toBe(BigInt(IST1_TOP));
    expect(Number((dv.getBigUint64(IDT_GPA + 8 * 16, true) >> 32n) & 7n)).toBe(1);
  });

  it('enters through a user prologue that loads null DS ES FS GS from a zero word and jumps to CODE_BASE', () => {
    const { ram, dv, cr3 } = image();
    const leaf = walk(dv, cr3, PROLOGUE_VA);
    expect(leaf).toMatchObject({ user: true, exec: true, write: false });
    let at = leaf!.gpa;
    const loaded: number[] = [];
    while (ram[at] === 0x8e) {
      loaded.push((ram[at + 1] >> 3) & 7);
      const source = BigInt(dv.getInt32(at + 3, true));
      expect(dv.getUint16(walk(dv, cr3, source)!.gpa, true)).toBe(0);
      at += 7;
    }
    expect(loaded).toEqual([0, 3, 4, 5]);
    expect(ram[at]).toBe(0xe9);
    const next = PROLOGUE_VA + BigInt(at + 5 - leaf!.gpa);
    expect(next + BigInt(dv.getInt32(at + 1, true))).toBe(CODE_BASE);
  });

  it('writes code, then the terminator, then INT3 up to the end of the code pages', () => {
    const { ram, dv, cr3 } = image();
    writeCode(ram, new Uint8Array([0x90, 0x90]));
    const at = walk(dv, cr3, CODE_BASE)!.gpa;
    expect([...ram.subarray(at, at + 2)]).toEqual([0x90, 0x90]);
    expect([...ram.subarray(at + 2, at + 2 + TERMINATOR.length)]).toEqual([...TERMINATOR]);
    expect(ram[at + 2 + TERMINATOR.length]).toBe(CODE_FILL);
    expect(ram[at + CODE_PAGES * PAGE_SIZE - 1]).toBe(CODE_FILL);
    expect(() => writeCode(ram, new Uint8Array(CODE_MAX + 1))).toThrow(RangeError);
  });
});
