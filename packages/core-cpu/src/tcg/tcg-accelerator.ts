/**
 * The software accelerator (`--accel=tcg`): one vCPU interpreted on the machine thread.
 *
 * The CPU runs in slices scheduled with setImmediate, so timers, stdio and device
 * callbacks get the event loop between slices. Within a slice it executes bursts and takes
 * interrupts between them (NMI from the local APIC first, then the interrupt controller's
 * INTR when EFLAGS.IF is set and no interrupt shadow is in force). Interrupts are still
 * taken at the instruction boundary where they become deliverable:
 * - a device that raises INTR during a burst (an OUT, an APIC register write) ends the burst
 *   after that instruction: notifyInterrupt() sets `cpu.halted` as a stop request, which HLT
 *   cannot also have set, since HLT touches no device; the loop clears it again;
 * - when INTR rises while IF is clear the loop steps one instruction at a time, for up to
 *   STEP_WINDOW instructions, so the interrupt is taken right after the STI/POPF/IRET that sets
 *   IF in a short critical section, or one instruction later while `cpu.interruptShadow`
 *   holds it (after STI, MOV SS, POP SS: `sti; hlt` cannot lose its wake-up; the loop
 *   steps through the shadowed instruction too). A longer IF-clear stretch (a kernel
 *   decompressing itself with the PIC's power-on IRQ0 pending) goes back to full bursts, and
 *   the instruction that sets IF again (STI, POPF, IRET, a task switch) ends its burst through
 *   SoftCpu.onInterruptWindow when an interrupt waits.
 *
 * Time (virtual-clock.ts): with a VirtualClock the devices' time is the retired-instruction
 * count (plus PAUSE's extra cycles: SoftCpu.cycles), each burst ends at the next timer
 * deadline (or after an instruction that armed an earlier one) and due timers fire between
 * bursts, so a run is reproducible. A halted CPU that an
 * interrupt can wake jumps time to the next deadline; with no deadline it sleeps until the machine's interrupt pin calls
 * notifyInterrupt() (a byte on stdin, for instance). With any other Clock (host time) timers
 * fire on the event loop and HLT sleeps until the pin.
 *
 * Tracing (cpu-trace.ts) swaps cpu.run() for the tracer's single-stepping loop: the choice is
 * made per burst, so the interpreter's hot loop is the same with tracing off.
 *
 * A triple fault becomes a machine reset event; an instruction the interpreter does not
 * implement yet ends the run with a fatal event that names it, never a silent wrong result.
 */
import type {
  Accelerator, Clock, CpuState, ExitStatRow, MachineBinding, Vcpu, VcpuRunState,
} from '@tsemu/devices/platform';
import { attachCpuEnvironment } from '../cpu-model/cpu-environment.js';
import { deliverExternalInterrupt, TripleFaultError } from '../interp/interrupts.js';
import { PagedLinearMemory } from '../interp/paged-memory.js';
import { syncPrivilege } from '../interp/protected/privilege.js';
import { SoftCpu } from '../interp/soft-cpu.js';
import { Mmu } from '../mmu/mmu.js';
import { CpuTracer, type CpuTraceOptions } from './cpu-trace.js';
import { collectTcgStats, tcgStatRows, type TcgCounters, type TcgStats } from './tcg-stats.js';
import { VirtualClock } from './virtual-clock.js';
import { Jit, type JitOptions } from '../jit/jit.js';

export { VirtualClock, MAX_ICOUNT_SHIFT, type VirtualClockOptions } from './virtual-clock.js';
export { CpuTracer, type CpuTraceOptions, type CpuTraceRange } from './cpu-trace.js';
export type { TcgStats } from './tcg-stats.js';

const FLAG_IF = 0x200;
const NMI_VECTOR = 2;
/**
 * Instructions between the loop's own interrupt checks. Interrupts do not wait for them: a
 * device that raises INTR, an instruction that sets IF, a timer deadline and a device arming an
 * earlier deadline each end the burst where the interrupt or the timer becomes due. What the bound sets is how often the loop's work comes round
 * (the interrupt check, the clock's due timers, the run loop's setup, and a return from the
 * WebAssembly translations to the host). Linux boot to the prompt with the JIT, three rounds
 * in turn (2026-11-28): 7.82/7.49/7.73 s at 20,000, 7.75/7.89/7.44 s at 50,000,
 * 7.34/7.44/7.32 s at 100,000, 7.40/7.24/7.26 s at 200,000; then 200,000 against 20,000 in 11
 * more rounds, faster in 10 (entries into translations from the run loop 2.35 -> 2.01
 * million); the same guest instruction count within 0.002%.
 */
const BURST = 200_000;
/** Instructions stepped one at a time after INTR rises while IF is clear. */
const STEP_WINDOW = 256;
/** Instructions per event-loop turn. */
const SLICE = 200_000;
/**
 * What a halted CPU's jump to the next timer counts against a slice: ten jumps a turn, as when
 * each counted a burst of 20,000 (a whole 200,000-instruction burst would allow one).
 */
const IDLE_SKIP_COST = SLICE / 10;
/** A keep-alive interval while the vCPU sleeps, so Node does not exit with the run unfinished. */
const KEEPALIVE_MS = 1 << 30;

/** The local APIC as the run loop sees it (devices' LocalApic satisfies it). */
export interface TcgLocalApic {
  /** WRMSR IA32_APIC_BASE (and CpuState loads): base address and global enable. */
  setApicBase(value: bigint): void;
  /** Returns and clears a pending NMI (LINT1, an NMI IPI or an LVT in NMI mode). */
  takeNmi(): boolean;
}

export interface TcgAcceleratorOptions {
  /** Narration of notable events (resets, fatal stops) on stderr. */
  trace?: ((line: string) => void) | null;
  /**
   * The machine's clock. A VirtualClock is driven by the run loop (instruction-counted
   * time); any other clock is taken as host time. The guest TSC counts its nanoseconds.
   * Absent: host time, TSC = retired instructions.
   */
  clock?: Clock | null;
  /** `--trace=cpu`: every executed instruction (in range) to `write`. */
  cpuTrace?: CpuTraceOptions | null;
  /** The machine's local APIC: CPUID claims an APIC and IA32_APIC_BASE reaches it. */
  localApic?: TcgLocalApic | null;
  /** The JIT's options (jit/jit.ts); null or absent: the interpreter alone (`--jit=off`). */
  jit?: JitOptions | null;
  /**
   * Virtual clock only (QEMU's `-icount sleep=on`): while the guest idles in HLT, virtual time may
   * not run ahead of host time since the vCPU started, so an idle guest sleeps until its next timer
   * instead of running its ticks back to back. What the guest computes is unchanged (timers still
   * fire at the same instruction counts); only when, in host time, idle stretches end.
   */
  idleSleep?: boolean;
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
  /** The instruction-counted clock when the machine runs on virtual time, else null. */
  readonly virtualClock: VirtualClock | null;
  private readonly mmu: Mmu;
  private readonly tracer: CpuTracer | null;
  private readonly localApic: TcgLocalApic | null;
  private running = false;
  private destroyed = false;
  private scheduled: NodeJS.Immediate | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  private sleepStarted = 0n;
  /** A burst is running: notifyInterrupt() ends it instead of scheduling a slice. */
  private inBurst = false;
  private stopRequested = false;
  /** An NMI taken from the local APIC while NMIs were blocked, waiting for the IRET. */
  private nmiLatched = false;
  /** Single steps left to watch for IF being set while an interrupt waits. */
  private stepWindow = STEP_WINDOW;
  /** idleSleep: host and virtual time when the vCPU (re)started, the pair virtual time keeps behind. */
  private paceHostNs = 0;
  private paceVirtualNs = 0;
  /** idleSleep: the host timer that ends an idle stretch. */
  private wakeTimer: NodeJS.Timeout | null = null;
  private readonly counters: TcgCounters = { cpuNs: 0, interrupts: 0, nmis: 0, hlts: 0, sleepNs: 0, slices: 0 };

  constructor(
    private readonly binding: MachineBinding,
    private readonly options: TcgAcceleratorOptions = {},
  ) {
    this.mmu = new Mmu(binding.memory, binding.mmio);
    this.cpu = new SoftCpu(new PagedLinearMemory(this.mmu), binding.pio, this.mmu);
    this.cpu.onInterruptWindow = () => this.interruptWindow();
    if (options.jit) this.cpu.jit = new Jit(options.jit);
    const clock = options.clock ?? null;
    this.virtualClock = clock instanceof VirtualClock ? clock : null;
    this.virtualClock?.bindCounter(() => this.cpu.cycles);
    // A timer armed during a burst ahead of every other deadline: stop after the arming
    // instruction, so that the next burst is cut at it.
    if (this.virtualClock !== null) this.virtualClock.onEarlierDeadline = () => this.requestStop();
    this.localApic = options.localApic ?? null;
    const apic = this.localApic;
    attachCpuEnvironment(this.cpu, {
      apic: apic !== null,
      onApicBaseWrite: apic === null ? undefined : (lo, hi) => apic.setApicBase((BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)),
      tsc: clock === null ? undefined : () => Math.floor(clock.nowNs()),
      // The virtual clock counts the CPU's cycles (bindCounter above), 2^shift ns each; host time does not.
      tscCycleShift: this.virtualClock?.shift,
    });
    this.tracer = options.cpuTrace ? new CpuTracer(this.cpu, options.cpuTrace) : null;
    this.vcpus = [new TcgVcpu(this)];
  }

  get runState(): VcpuRunState {
    if (this.destroyed) return 'stopped';
    if (!this.running) return 'paused';
    return this.cpu.halted ? 'halted' : 'running';
  }

  /** Loads architectural state: registers, the MMU's view of paging and privilege, the APIC base. */
  loadState(state: CpuState): void {
    const r = this.cpu.regs;
    r.load(state);
    // CpuState carries no x87 state: a load (boot, reset) starts the FPU at its power-on values.
    r.fpu.reset();
    this.cpu.nmiBlocked = false;
    this.nmiLatched = false;
    this.mmu.setPagingContext(r);
    syncPrivilege(this.cpu);
    this.localApic?.setApicBase(state.apicBase);
    this.cpu.halted = false;
    this.cpu.flushDecodeCache();
  }

  start(): void {
    this.resume();
  }

  async pause(): Promise<void> {
    // Slices run on this thread, so between them the vCPU is already stopped; called from a
    // device during a burst (the guest wrote isa-debug-exit), it stops after that instruction.
    this.running = false;
    this.requestStop();
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    if (this.wakeTimer !== null) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    this.endSleep();
  }

  resume(): void {
    if (this.destroyed) return;
    this.running = true;
    this.paceHostNs = Number(process.hrtime.bigint());
    this.paceVirtualNs = this.virtualClock?.nowNs() ?? 0;
    this.schedule();
  }

  notifyInterrupt(): void {
    this.stepWindow = STEP_WINDOW;
    // Raised by the instruction now executing: stop after it (see the file comment).
    if (this.inBurst) this.requestStop();
    else if (this.running && this.cpu.halted) this.schedule();
  }

  /** Ends the running burst after the current instruction; nothing outside a burst. */
  private requestStop(): void {
    if (this.inBurst && !this.cpu.halted) {
      this.stopRequested = true;
      this.cpu.stopAfterInstruction();
    }
  }

  async destroy(): Promise<void> {
    await this.pause();
    this.destroyed = true;
  }

  /** Everything --stats reports under tcg. */
  tcgStats(): TcgStats {
    return collectTcgStats(this.cpu, this.mmu, this.counters, this.virtualClock, this.tracer);
  }

  stats(): readonly ExitStatRow[] {
    return tcgStatRows(this.tcgStats());
  }

  private schedule(): void {
    if (!this.scheduled && this.running) this.scheduled = setImmediate(() => this.slice());
  }

  /** Marks the vCPU asleep (halted, waiting for an event) and keeps the process alive meanwhile. */
  private beginSleep(): void {
    if (this.keepAlive !== null) return;
    this.sleepStarted = process.hrtime.bigint();
    this.keepAlive = setInterval(() => {}, KEEPALIVE_MS);
  }

  private endSleep(): void {
    if (this.keepAlive === null) return;
    clearInterval(this.keepAlive);
    this.keepAlive = null;
    this.counters.sleepNs += Number(process.hrtime.bigint() - this.sleepStarted);
  }

  /** True when an NMI is waiting (taken from the APIC and kept here until it can be delivered). */
  private nmiWaiting(): boolean {
    if (!this.nmiLatched && this.localApic !== null && this.localApic.takeNmi()) this.nmiLatched = true;
    return this.nmiLatched;
  }

  /**
   * STI, POPF, IRET or a task switch just ran: if that lets a waiting interrupt or NMI in, end
   * the burst after this instruction so it is taken at this boundary (the shadow of STI still
   * holds it back one more instruction).
   */
  private interruptWindow(): void {
    const cpu = this.cpu;
    const maskable = (cpu.regs.flags.raw & FLAG_IF) !== 0 && this.binding.interrupts.hasPendingInterrupt();
    if (maskable || (!cpu.nmiBlocked && this.nmiWaiting())) this.requestStop();
  }

  /** Delivers a pending NMI (unless one is being handled), then a pending maskable interrupt. */
  private takeInterrupts(): void {
    const cpu = this.cpu;
    if (cpu.interruptShadow) return;
    if (!cpu.nmiBlocked && this.nmiWaiting()) {
      this.nmiLatched = false;
      this.tracer?.interrupt(NMI_VECTOR, 'NMI');
      deliverExternalInterrupt(cpu, NMI_VECTOR);
      // Blocked until the handler's IRET (cleared by the iret handler).
      cpu.nmiBlocked = true;
      this.counters.nmis++;
    }
    const source = this.binding.interrupts;
    if (!(cpu.regs.flags.get() & FLAG_IF) || !source.hasPendingInterrupt()) return;
    const vector = source.acknowledgeInterrupt();
    this.tracer?.interrupt(vector, 'external');
    deliverExternalInterrupt(cpu, vector);
    this.counters.interrupts++;
    this.stepWindow = STEP_WINDOW;
  }

  /** Whether a halted CPU can be woken by a timer: only a maskable interrupt with IF set. */
  private timerCanWake(): boolean {
    return (this.cpu.regs.flags.get() & FLAG_IF) !== 0;
  }

  private slice(): void {
    this.scheduled = null;
    if (!this.running) return;
    this.endSleep();
    if (this.wakeTimer !== null) {
      clearTimeout(this.wakeTimer);
      this.wakeTimer = null;
    }
    this.counters.slices++;
    const cpu = this.cpu;
    const clock = this.virtualClock;
    const tracer = this.tracer;
    const started = process.hrtime.bigint();
    let sleep = false;
    /** idleSleep: host nanoseconds until the next timer may fire. */
    let idleNs = 0;
    try {
      let budget = SLICE;
      while (budget > 0 && this.running) {
        this.takeInterrupts();
        if (cpu.halted) {
          const deadline = clock === null || !this.timerCanWake() ? Infinity : clock.nextDeadline();
          if (deadline === Infinity) {
            sleep = true;
            break;
          }
          if (this.options.idleSleep) {
            const ahead = deadline - this.paceVirtualNs - (Number(process.hrtime.bigint()) - this.paceHostNs);
            if (ahead > 0) {
              sleep = true;
              idleNs = ahead;
              break;
            }
          }
          // Idle: nothing retires until the next timer, so time jumps straight to it.
          clock!.skipTo(deadline);
          clock!.runDue();
          budget -= IDLE_SKIP_COST;
          continue;
        }
        // An interrupt waiting for IF or for the end of a shadow: step (IF-clear for a while
        // only), so it is taken at the instruction boundary where it may be.
        let limit = budget < BURST ? budget : BURST;
        if (cpu.interruptShadow) {
          if (this.binding.interrupts.hasPendingInterrupt()) limit = 1;
        } else if ((cpu.regs.flags.get() & FLAG_IF) === 0 && this.stepWindow > 0 && this.binding.interrupts.hasPendingInterrupt()) {
          limit = 1;
          this.stepWindow--;
        }
        const n = clock === null ? limit : clock.instructionsUntilDeadline(limit);
        // PAUSE moves the clock faster than instructions retire: it ends the burst at the deadline.
        cpu.stallStop = clock === null ? Infinity : cpu.cycles + n;
        this.inBurst = true;
        let ran: number;
        try {
          // A burst that ends at BURST or the slice's end, not at a deadline, may end a little early.
          ran = tracer === null ? cpu.run(n, n === limit && limit > 1) : tracer.run(n);
        } finally {
          this.inBurst = false;
          cpu.stallStop = Infinity;
          if (this.stopRequested) {
            this.stopRequested = false;
            cpu.halted = false;
          }
        }
        budget -= ran > 0 ? ran : 1;
        if (cpu.halted) this.counters.hlts++;
        clock?.runDue();
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
      this.counters.cpuNs += Number(process.hrtime.bigint() - started);
    }
    if (!this.running) return;
    // A device callback during the slice may already have made an interrupt pending.
    if (sleep && !this.wakeable()) {
      this.beginSleep();
      if (idleNs > 0) this.wakeTimer = setTimeout(() => this.wakeUp(), Math.max(1, Math.round(idleNs / 1e6)));
    } else this.schedule();
  }

  /** idleSleep: the next timer's host time has come. */
  private wakeUp(): void {
    this.wakeTimer = null;
    this.schedule();
  }

  /** Halted, but an interrupt is already waiting to be taken. */
  private wakeable(): boolean {
    return (this.cpu.regs.flags.get() & FLAG_IF) !== 0 && this.binding.interrupts.hasPendingInterrupt();
  }
}

export function createTcgAccelerator(binding: MachineBinding, options: TcgAcceleratorOptions = {}): TcgAccelerator {
  return new TcgAccelerator(binding, options);
}
