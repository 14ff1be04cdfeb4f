import { describe, expect, it } from 'vitest';
import { sumLoop, testCpu } from './test-machine.js';
import { type IoDevice } from '@tsemu/devices/platform';
import { DISPATCH, unimplementedKeys } from '../../src/interp/handlers/index.js';
import { CpuFault } from '../../src/interp/faults.js';
import { OPCODE_TABLE } from '../../src/decoder/opcode-table.js';
import { Seg } from '../../src/state/segment-cache.js';

/** A real-mode CPU at 0:0x7c00 with `code` there and an IVT whose handlers are HLTs at 0x500. */
function realModeCpu(code: number[]) {
  return testCpu(code, { haltingIvt: true });
}

describe('SoftCpu (real mode)', () => {
  it('runs a loop that sums 1..10 and halts', () => {
    const { cpu } = realModeCpu(sumLoop(10));
    const n = cpu.run(1000);
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.gpr.r16[0]).toBe(55);
    expect(n).toBe(1 + 1 + 20 + 1);
  });

  it('calls and returns through the stack', () => {
    const { cpu, memory } = realModeCpu([
      0xe8, 0x02, 0x00, // call +2
      0xf4, //             hlt
      0x90, //             nop
      0xb0, 0x2a, //       mov al, 42
      0xc3, //             ret
    ]);
    cpu.run(10);
    expect(cpu.regs.gpr.r8[0]).toBe(42);
    expect(cpu.regs.rip).toBe(0x7c04);
    expect(memory.read16(0x6ffe)).toBe(0x7c03);
    expect(cpu.regs.gpr.r16[8]).toBe(0x7000);
  });

  it('delivers a fault through the interrupt vector table with the faulting IP pushed', () => {
    const { cpu, memory } = realModeCpu([0x90, 0x8b, 0x07]); // nop; mov ax, [bx] with bx = 0xffff
    cpu.regs.gpr.r16[6] = 0xffff;
    cpu.run(5);
    expect(cpu.lastException).toBe(13);
    expect(cpu.regs.rip).toBe(0x500 + 13 + 1); // past the HLT of vector 13's handler
    expect(memory.read16(0x7000 - 6)).toBe(0x7c01);
    expect(memory.read16(0x7000 - 4)).toBe(0);
  });

  it('raises #UD for an opcode with no handler yet and #GP for a word at offset 0xffff', () => {
    const ud = realModeCpu([0x0f, 0x0b]); // ud2
    ud.cpu.run(3);
    expect(ud.cpu.lastException).toBe(6);
    const gp = realModeCpu([0x8b, 0x07]); // mov ax, [bx] with bx = 0xffff
    gp.cpu.regs.gpr.r16[6] = 0xffff;
    gp.cpu.run(3);
    expect(gp.cpu.lastException).toBe(13);
  });

  it('reaches devices on the port bus with IN and OUT', () => {
    const { cpu, io } = realModeCpu([0xb0, 0x41, 0xe6, 0x80, 0xe4, 0x81, 0xf4]); // mov al,'A'; out 0x80,al; in al,0x81; hlt
    const seen: number[] = [];
    const dev: IoDevice = { name: 'probe', read: () => 0x5a, write: (_o, _s, v) => void seen.push(v) };
    io.register(0x80, 2, dev);
    cpu.run(10);
    expect(seen).toEqual([0x41]);
    expect(cpu.regs.gpr.r8[0]).toBe(0x5a);
    expect(cpu.regs.seg.selector[Seg.CS]).toBe(0);
  });

  it('raises #UD for every table entry that has no handler yet', () => {
    const missing = new Set(unimplementedKeys());
    expect(missing.has('add_Ev_Gv')).toBe(false);
    const { cpu } = realModeCpu([]);
    OPCODE_TABLE.forEach((entry, index) => {
      if (!missing.has(entry.key)) return;
      let vector = -1;
      try {
        DISPATCH[index](cpu, cpu.insn);
      } catch (e) {
        vector = e instanceof CpuFault ? e.vector : -2;
      }
      expect(vector, entry.key).toBe(6);
    });
  });
});
