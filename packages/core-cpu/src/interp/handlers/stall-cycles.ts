/**
 * Instructions that take far longer than one cycle on a real PC, and the clock time they add.
 *
 * The virtual clock counts one cycle per instruction retired (tcg/virtual-clock.ts). Guests
 * spin on time: a kernel waits for a timer tick with PAUSE, or counts how many port reads fit
 * into a PIT countdown. When such an instruction is as short as an ADD, the spin runs many
 * times more iterations per virtual microsecond than on hardware, and every one of them costs
 * host time. So these instructions add their real length to the clock (`SoftCpu.stall`).
 */
import { EVENT_STOP } from '../debug-traps.js';
import type { SoftCpu } from '../soft-cpu.js';

/**
 * PAUSE's length in cycles: Skylake and later cores take about 140 cycles for it (Intel's
 * optimization manual), so a kernel spinning on the TSC (udelay, waiting for a timer tick)
 * runs a few times fewer loop iterations per virtual microsecond than if PAUSE were as short
 * as a NOP. On the Linux boot the delay loop alone had retired 350 million instructions.
 */
export const PAUSE_CYCLES = 140;

/**
 * An IN or OUT (each element of INS/OUTS): about a microsecond on a PC's legacy devices (the
 * PIT, port 0x61, the PICs, CMOS, the UART, port 0x80), which is why Linux's inb_p/outb_p
 * write port 0x80 as their delay. 1,000 cycles of the 1 GHz virtual clock. Linux's boot spins
 * on port reads in places (counting port-0x61 reads through a 50 ms PIT countdown when it
 * checks the ACPI PM timer's rate): with 1-cycle port accesses it ran 30 million more
 * instructions before /init.
 */
export const PORT_ACCESS_CYCLES = 1000;

/**
 * Adds `cycles` beyond the instruction's own one to the clock; once the clock reaches the
 * running burst's time budget (the next timer deadline, SoftCpu.stallStop), the burst ends
 * after this instruction, as a device's stop request would, so the timer fires on time.
 */
export function addStall(cpu: SoftCpu, cycles: number): void {
  cpu.stall += cycles;
  if (cpu.timeUp()) cpu.pendingEvents |= EVENT_STOP;
}

/** One port access done: the rest of its PORT_ACCESS_CYCLES go on the clock. */
export function portAccessStall(cpu: SoftCpu): void {
  addStall(cpu, PORT_ACCESS_CYCLES - 1);
}
