// The Multiboot images the v86 comparison boots (bench/src/v86-guest.ts) hold exactly the
// interpreter benchmark's loops: booted by tsemu's own Multiboot loader and run on the software
// CPU, each reaches the loop's HLT after the loop's instruction count plus its short prologue.
// The sieve/CRC-32 workload's count is checked against its JavaScript mirror and its results
// against the primes and CRC worked out here; the whole-guest images the QEMU comparison times
// (bench/src/workload-guest.ts) print their two markers around exactly the counted stretch.
import { describe, expect, it } from 'vitest';
import { createTcgAccelerator } from '@tsemu/core-cpu';
import { loadMultiboot, PcMachine } from '@tsemu/devices';
import { createSharedRamBacking, ManualClock } from '@tsemu/devices/platform';
import { flat32Data, FLAT32_HLT_OFFSET, FLAT32_INSTRUCTIONS, FLAT32_LOOP, REAL_MODE_INSTRUCTIONS, REAL_MODE_LOOP } from '../../bench/src/interp-workloads.js';
import { flat32LoopImage, realModeLoopImage } from '../../bench/src/v86-guest.js';
import { END_MARKER, markedInstructions, repeatedLoopImage, START_MARKER } from '../../bench/src/workload-guest.js';
import { crc32Table, SIEVE_CRC_HLT_OFFSET, SIEVE_CRC_LOOP, SIEVE_RESULT, SIEVE_CRC_INSTRUCTIONS, sievePrimeCount } from '../../bench/src/sieve-crc-workload.js';

function boot(image: Uint8Array, com1Output: ((bytes: Uint8Array) => void) | null = null) {
  const machine = new PcMachine({
    backing: createSharedRamBacking(16 * 2 ** 20), clock: new ManualClock(), irqchip: 'user',
    com1Output, debugExit: null, onEvent: () => {},
  });
  const acc = createTcgAccelerator(machine.binding);
  acc.loadState(loadMultiboot(machine.memory, image).cpu);
  const cpu = acc.cpu;
  cpu.run(3_000_000);
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
    expect(cpu.regs.rip).toBe(0x10000 + FLAT32_HLT_OFFSET + 1);
    expect(cpu.regs.cr0 >>> 31).toBe(paging ? 1 : 0);
    expect([...memory.readBytes(0x10000, FLAT32_LOOP.length)]).toEqual(FLAT32_LOOP);
    expect(cpu.retired).toBe(FLAT32_INSTRUCTIONS + (paging ? 7 : 2));
  });
});

describe('the sieve, CRC-32 and copies workload', () => {
  it('runs to its HLT in the instructions its JavaScript mirror counts, with the right primes and CRC', () => {
    const { cpu, memory } = boot(flat32LoopImage(true, SIEVE_CRC_LOOP));
    expect(cpu.halted).toBe(true);
    expect(cpu.regs.rip).toBe(0x10000 + SIEVE_CRC_HLT_OFFSET + 1);
    expect(cpu.retired).toBe(SIEVE_CRC_INSTRUCTIONS + 7);
    const result = new DataView(memory.readBytes(SIEVE_RESULT, 8).slice().buffer);
    expect(result.getUint32(0, true)).toBe(1028); // primes below 8192
    expect(sievePrimeCount()).toBe(1028);
    const { table } = crc32Table();
    let crc = 0xffffffff;
    for (const byte of new Uint8Array(flat32Data().buffer, 0, 4096)) crc = (crc >>> 8) ^ table[(crc ^ byte) & 0xff];
    expect(result.getUint32(4, true)).toBe(~crc >>> 0);
    expect(crc32Table().table[1]).toBe(0x77073096); // the standard table's second entry
  });
});

describe('the workload peers\' guests (bench/src/workload-guest.ts)', () => {
  it.each([
    { name: 'flat', loop: FLAT32_LOOP, instructions: FLAT32_INSTRUCTIONS, hltOffset: FLAT32_HLT_OFFSET },
    { name: 'sieve', loop: SIEVE_CRC_LOOP, instructions: SIEVE_CRC_INSTRUCTIONS, hltOffset: SIEVE_CRC_HLT_OFFSET },
  ])('$name: the loop runs the given rounds between the two markers', (w) => {
    let output = '';
    const { cpu } = boot(repeatedLoopImage(w, 2), (bytes) => (output += Buffer.from(bytes).toString('latin1')));
    expect(output).toBe(START_MARKER + END_MARKER);
    expect(cpu.halted).toBe(true);
    // the paging prologue (7), the start marker (3), the marked stretch, CLI and HLT
    expect(cpu.retired).toBe(7 + 3 + markedInstructions(w, 2) + 2);
  });

  it('refuses a loop without its HLT', () => {
    expect(() => repeatedLoopImage({ name: 'x', loop: FLAT32_LOOP, instructions: 1 }, 2)).toThrow(/no HLT at offset/);
  });
});
