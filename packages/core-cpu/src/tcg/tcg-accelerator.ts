/**
 * The software accelerator (`--accel=tcg`): one vCPU interpreted on the machine thread.
 *
 * The CPU runs in slices scheduled with setImmediate, so timers, stdio and device
 * callbacks get the event loop between slices; within a slice it executes short bursts
 * and checks the interrupt controller between them (an interrupt is taken within at most
 * one burst of instructions). HLT ends the slice: the vCPU sleeps until the machine's
 * interrupt pin calls notifyInterrupt(). A triple fault becomes a machine reset event; an
 * instruction the interpreter does not implement yet ends the run with a fatal event that
 * names it, never a silent wrong result.
 */
import type {
  Accelerator, CpuState, ExitStatRow, MachineBinding, Vcpu, VcpuRunState,
} from '@tsemu/devices/platform';
import { attachCpuEnvironment } from '../cpu-model/cpu-environment.js';
import { deliverExternalInterrupt, TripleFaultError } from '../interp/interrupts.js';
import { PagedLinearMemory } from '../interp/paged-memory.js';
import { syncPrivilege } from '../interp/protected/privilege.js';
import { SoftCpu } from '../interp/soft-cpu.js';
import { Mmu } from '../mmu/mmu.js';

const FLAG_IF = 0x200;
/** Instructions between interrupt checks. */
const BURST = 1000;
/** Instructions per event-loop turn. */
const SLICE = 200_000;

export interface TcgAcceleratorOptions {
  /** Narration of notable events (resets, fatal stops) on stderr. */
  trace?: ((line: string) => void) | null;
}

class TcgVcpu implements Vcpu {
  readonly index = 0;
  constructor(private readonly acc: TcgAccelerator) {}
  get runState(): VcpuRunState {
    return this.acc.runState;
  }
  async getState(): Promise<CpuState> {
    return this.acc.cpu.regs.save();
  }
  async setState(state: CpuState): Promise<void> {
    this.acc.loadState(state);
  }
}

export class TcgAccelerator implements Accelerator {
  readonly kind = 'tcg' as const;
  readonly kernelIrqLines = null;
  readonly vcpus: readonly Vcpu[];
  readonly cpu: SoftCpu;
  private readonly mmu: Mmu;
  private running = false;
  private destroyed = false;
  private scheduled: NodeJS.Immediate | null = null;
  private runNs = 0;
  private interrupts = 0;

  constructor(
    private readonly binding: MachineBinding,
    private readonly options: TcgAcceleratorOptions = {},
  ) {
    this.mmu = new Mmu(binding.memory, binding.mmio);
    this.cpu = new SoftCpu(new PagedLinearMemory(this.mmu), binding.pio, this.mmu);
    // The PC machine has no local APIC wired yet: CPUID must not claim one.
    attachCpuEnvironment(this.cpu, { apic: false });
    this.vcpus = [new TcgVcpu(this)];
  }

  get runState(): VcpuRunState {
    if (this.destroyed) return 'stopped';
    if (!this.running) return 'paused';
    return this.cpu.halted ? 'halted' : 'running';
  }

  /** Loads architectural state: registers, the MMU's view of paging and privilege. */
  loadState(state: CpuState): void {
    const r = this.cpu.regs;
    r.load(state);
    this.mmu.setPagingContext(r);
    syncPrivilege(this.cpu);
    this.cpu.halted = false;
    this.cpu.flushDecodeCache();
  }

  start(): void {
    this.resume();
  }

  async pause(): Promise<void> {
    // Slices run to completion on this thread, so between calls the vCPU is already stopped.
    this.running = false;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
  }

  resume(): void {
    if (this.destroyed) return;
    this.running = true;
    this.schedule();
  }

  notifyInterrupt(): void {
    if (this.running && this.cpu.halted) this.schedule();
  }

  async destroy(): Promise<void> {
    await this.pause();
    this.destroyed = true;
  }

  stats(): readonly ExitStatRow[] {
    return [
      { reason: 'instructions', where: '', count: this.cpu.retired, timeNs: this.runNs },
      { reason: 'interrupts', where: '', count: this.interrupts, timeNs: 0 },
    ];
  }

  private schedule(): void {
    if (!this.scheduled && this.running) this.scheduled = setImmediate(() => this.slice());
  }

  /** Takes a pending interrupt if the CPU accepts one; true when it did. */
  private takeInterrupt(): boolean {
    const source = this.binding.interrupts;
    if (!(this.cpu.regs.flags.get() & FLAG_IF) || !source.hasPendingInterrupt()) return false;
    deliverExternalInterrupt(this.cpu, source.acknowledgeInterrupt());
    this.interrupts++;
    return true;
  }

  private slice(): void {
    this.scheduled = null;
    if (!this.running) return;
    const cpu = this.cpu;
    const started = process.hrtime.bigint();
    try {
      let budget = SLICE;
      while (budget > 0 && this.running) {
        this.takeInterrupt();
        if (cpu.halted) break;
        budget -= cpu.run(Math.min(budget, BURST));
      }
    } catch (e) {
      this.running = false;
      if (e instanceof TripleFaultError) {
        this.options.trace?.(`tcg: triple fault (${e.message})`);
        this.binding.onEvent({ kind: 'reset', reason: 'triple fault' });
      } else {
        const r = cpu.regs;
        this.binding.onEvent({ kind: 'fatal', message: `software CPU stopped at ${r.seg.selector[1].toString(16)}:${(r.rip >>> 0).toString(16)}: ${(e as Error).message}` });
      }
      return;
    } finally {
      this.runNs += Number(process.hrtime.bigint() - started);
    }
    // Halted with an interrupt already pending: go on at once; otherwise wait for the pin.
    if (!cpu.halted || ((cpu.regs.flags.get() & FLAG_IF) && this.binding.interrupts.hasPendingInterrupt())) this.schedule();
  }
}

export function createTcgAccelerator(binding: MachineBinding, options: TcgAcceleratorOptions = {}): TcgAccelerator {
  return new TcgAccelerator(binding, options);
}
