// The Multiboot images the v86 comparison boots (bench/src/v86-guest.ts) hold exactly the
// interpreter benchmark's loops: booted by tsemu's own Multiboot loader and run on the software
// CPU, each reaches the loop's HLT after the loop's instruction count plus its short prologue.
import { describe, expect, it } from 'vitest';
import { createTcgAccelerator } from '@tsemu/core-cpu';
import { loadMultiboot, PcMachine } from '@tsemu/devices';
import { createSharedRamBacking, ManualClock } from '@tsemu/devices/platform';
import { FLAT32_INSTRUCTIONS, FLAT32_LOOP, REAL_MODE_INSTRUCTIONS, REAL_MODE_LOOP } from '../../bench/src/interp-workloads.js';
import { flat32LoopImage, realModeLoopImage } from '../../bench/src/v86-guest.js';

function boot(image: Uint8Array) {
  const machine = new PcMachine({
    backing: createSharedRamBacking(16 * 2 ** 20), clock: new ManualClock(), irqchip: 'user',
    com1Output: null, debugExit: null, onEvent: () => {},
  });
  const acc = createTcgAccelerator(machine.binding);
  acc.loadState(loadMultiboot(machine.memory, image).cpu);
  const cpu = acc.cpu;
  cpu.run(2_000_000);
  return { cpu, memory: machine.memory };
}

describe('v86 benchmark guests', () => {
  it('real mode: the prologue returns to real mode and runs the loop at 0:7C00 to its HLT', () => {
    const { cpu, memory } = boot(realModeLoopImage());
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.cr0 & 1).toBe(0);
    expect(cpu.regs.seg.base[1]).toBe(0);
    expect(cpu.regs.rip).toBe(0x7c00 + REAL_MODE_LOOP.length);
    expect([...memory.readBytes(0x7c00, REAL_MODE_LOOP.length)]).toEqual(REAL_MODE_LOOP);
    // cld, 3 x mov, rep movsb, lgdt, jmp; 8 in the 16-bit stub; 5 in the real-mode stub
    expect(cpu.retired).toBe(REAL_MODE_INSTRUCTIONS + 20);
  });

  it.each([false, true])('flat 32-bit (paging %s): the loop at 0x10000 runs to its HLT', (paging) => {
    const { cpu, memory } = boot(flat32LoopImage(paging));
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.rip).toBe(0x10000 + 19 + 1);
    expect(cpu.regs.cr0 >>> 31).toBe(paging ? 1 : 0);
    expect([...memory.readBytes(0x10000, FLAT32_LOOP.length)]).toEqual(FLAT32_LOOP);
    expect(cpu.retired).toBe(FLAT32_INSTRUCTIONS + (paging ? 7 : 2));
  });
});
