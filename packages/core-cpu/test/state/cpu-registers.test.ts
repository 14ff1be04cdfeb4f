import { describe, expect, it } from 'vitest';
import { flatSegment64, protectedModeEntryState, resetCpuState, type CpuState } from '@tsemu/devices/platform';
import { CpuRegisters } from '../../src/state/cpu-registers.js';
import { GprFile, GprSlot } from '../../src/state/gpr-file.js';
import { Seg, SegField, SegmentCache } from '../../src/state/segment-cache.js';

describe('GprFile', () => {
  it('aliases AL, AH, AX and EAX onto one storage', () => {
    const g = new GprFile();
    g.r32[0] = 0x12345678;
    expect(g.r8[0]).toBe(0x78);
    expect(g.r8[1]).toBe(0x56);
    expect(g.r16[0]).toBe(0x5678);
    g.r8[GprFile.byteIndex(4, false)] = 0xaa; // AH
    expect(g.r32[0] >>> 0).toBe(0x1234aa78);
    g.r8[GprFile.byteIndex(4, true)] = 0xbb; // SPL with REX
    expect(g.r32[4] & 0xff).toBe(0xbb);
  });

  it('splits and joins 64-bit values exactly', () => {
    const g = new GprFile();
    g.set64(9, 0xfedcba9876543210n);
    expect(g.r32[9] >>> 0).toBe(0x76543210);
    expect(g.hi[9] >>> 0).toBe(0xfedcba98);
    expect(g.get64(9)).toBe(0xfedcba9876543210n);
  });

  it('keeps each high half at r32[n | GprSlot.High], where 32-bit writes clear it', () => {
    for (const g of [new GprFile(), new GprFile(new ArrayBuffer(256), 64)]) {
      g.set64(5, 0x1122334455667788n);
      expect(g.r32[5 | GprSlot.High]).toBe(0x11223344);
      g.r32[5 | GprSlot.High] = 0;
      expect(g.get64(5)).toBe(0x55667788n);
      expect(g.hi[5]).toBe(0);
      // The views of the low halves do not reach the high halves.
      expect(g.r16.length).toBe(32);
      expect(g.r8.length).toBe(64);
    }
  });
});

describe('SegmentCache', () => {
  it('shows base, limit and attr again in fields, laid out as SegField says', () => {
    for (const c of [new SegmentCache(), new SegmentCache(new ArrayBuffer(256), 128)]) {
      c.load(Seg.SS, { ...flatSegment64(0x18, false), base: 0x12345000n, limit: 0xfffff, g: false });
      expect(c.fields[Seg.SS]).toBe(0x12345000);
      expect(c.fields[SegField.Limit | Seg.SS]).toBe(0xfffff);
      expect(c.fields[SegField.Attr | Seg.SS]).toBe(c.attr[Seg.SS]);
      c.fields[SegField.Attr | Seg.FS] = 0x93;
      expect(c.attr[Seg.FS]).toBe(0x93);
    }
  });
});

describe('CpuRegisters', () => {
  it('round-trips the reset state and a long-mode state through CpuState', () => {
    const r = new CpuRegisters();
    const reset = resetCpuState();
    r.load(reset);
    expect(r.save()).toEqual(reset);

    const long: CpuState = { ...protectedModeEntryState(0x100000) };
    long.cs = flatSegment64(0x10, true);
    long.fs = { ...long.fs, base: 0xffff888000001000n };
    long.gpr = Array.from({ length: 16 }, (_, i) => BigInt(i) * 0x1111111111111111n);
    long.rip = 0xffffffff81000000n;
    long.cr3 = 0x1_2345_6000n;
    long.efer = 0x500n;
    long.rflags = 0x246n;
    r.load(long);
    expect(r.save()).toEqual(long);
  });

  it('derives CPL from CS in protected mode and is 0 in real mode', () => {
    const r = new CpuRegisters();
    r.load(resetCpuState());
    expect(r.cpl).toBe(0);
    const user = protectedModeEntryState(0x1000);
    user.cs = { ...user.cs, selector: 0x1b, dpl: 3 };
    r.load(user);
    expect(r.cpl).toBe(3);
    expect(r.seg.selector[Seg.CS]).toBe(0x1b);
  });
});
