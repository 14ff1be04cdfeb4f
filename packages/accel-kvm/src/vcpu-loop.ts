/**
 * The vCPU run loop, executed in the vCPU's worker thread (KVM_RUN blocks, so each vCPU
 * gets its own thread). An explicit state machine in the manner of Firecracker's
 * vstate/vcpu.rs: the main thread's command (run / pause / stop) is checked before every
 * KVM_RUN; the worker reports created / running / parked / halted / stopped.
 *
 * Exits are served here when no device is involved: a port or MMIO address no device
 * claims reads as all ones and drops writes, counted. Everything else crosses to the
 * main thread through the mailbox.
 *
 * Rules taken from Documentation/virt/kvm/api.rst and QEMU's kvm_cpu_exec():
 * - After KVM_EXIT_IO / KVM_EXIT_MMIO the instruction completes only on the next KVM_RUN,
 *   so before parking the loop re-enters with immediate_exit = 1: KVM finishes the access
 *   and returns -EINTR without running guest code (a REP string access may exit again).
 * - After -EINTR, exit_reason is stale: nothing is decoded.
 * - Without an in-kernel irqchip, an interrupt is injected with KVM_INTERRUPT only when
 *   ready_for_interrupt_injection and if_flag say the guest can take it; otherwise
 *   request_interrupt_window = 1 makes KVM exit as soon as it can. HLT returns to user
 *   space and the vCPU waits here for an interrupt (or a pause or stop).
 */
import type { AccessSize, MachineEvent } from '@tsemu/devices/platform';
import { Command, Status, type VcpuControl } from './vcpu-control.js';
import { decodeExit, serveExit, serveIo, type ExitHandler, type MmioIo, type PortIo } from './exit-dispatch.js';
import { describeExit } from './exit-trace.js';
import { ExitStats, MMIO_SLOT_UNCLAIMED, MMIO_SLOT_UNSURE, STAT_INTERRUPT_INJECTED } from './exit-stats.js';
import { MMIO_UNCLAIMED, type IoMaps } from './io-maps.js';
import type { Mailbox } from './mailbox.js';
import { KvmExit } from './structs/kvm-run.js';
import { hex, type TraceSink } from './trace.js';
import type { VcpuFd } from './vcpu-fd.js';

const ALL_ONES = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

/** The answer of an absent device: reads float high, writes vanish. */
const UNCLAIMED_PIO: PortIo = {
  read: (_port: number, size: AccessSize) => ALL_ONES[size],
  write: () => {},
};
const UNCLAIMED_MMIO: MmioIo = {
  readInto: (_address: number, data: Uint8Array) => data.fill(0xff),
  writeFrom: () => {},
};

export interface VcpuLoopOptions {
  userIrqchip: boolean;
  trace: TraceSink;
  /** Registers (and code bytes) for fatal messages. */
  describeCpu(): string;
}

export class VcpuLoop {
  /** The last exit was IO/MMIO: KVM must be re-entered before the state is consistent. */
  private needsCompletion = false;
  /** HLT executed with the user irqchip: wait for an interrupt before running again. */
  private halted = false;
  /** ready_for_interrupt_injection / if_flag in the run page describe the current state. */
  private readyKnown = false;
  private readonly eventHandler: ExitHandler;

  constructor(
    private readonly vcpu: VcpuFd,
    private readonly control: VcpuControl,
    private readonly mailbox: Mailbox,
    private readonly maps: IoMaps,
    private readonly stats: ExitStats,
    private readonly options: VcpuLoopOptions,
  ) {
    this.eventHandler = { pio: UNCLAIMED_PIO, mmio: UNCLAIMED_MMIO, describeCpu: () => options.describeCpu() };
  }

  /** Runs until the command is STOP. */
  run(): void {
    for (;;) {
      const command = this.control.command;
      if (command === Command.STOP) return;
      try {
        if (command !== Command.RUN && !this.needsCompletion) this.park(command);
        else if (command === Command.RUN && this.halted) this.waitInHlt();
        else this.step(command !== Command.RUN);
      } catch (e) {
        this.needsCompletion = false;
        this.stopWith({ kind: 'fatal', message: `${(e as Error).message} at ${this.options.describeCpu()}` });
      }
    }
  }

  private park(command: number): void {
    this.control.setStatus(command === Command.IDLE ? Status.CREATED : Status.PARKED);
    if (command === Command.PAUSE) this.options.trace?.('parked (paused)');
    this.control.blockWhile(() => this.control.command === command);
    this.control.setStatus(Status.RUNNING);
    if (this.control.takeStateReplaced()) {
      // New registers: a pending HLT and the run page's interrupt flags no longer apply.
      this.halted = false;
      this.readyKnown = false;
    }
  }

  private waitInHlt(): void {
    const run = this.vcpu.run;
    const t0 = performance.now();
    this.control.setStatus(Status.HALTED);
    this.options.trace?.('HLT: waiting for an interrupt');
    this.control.blockWhile(() => this.control.command === Command.RUN && !(this.control.irqPending && run.ifFlag));
    this.control.setStatus(Status.RUNNING);
    this.stats.reasonTime(KvmExit.KVM_EXIT_HLT, (performance.now() - t0) * 1e6);
    if (this.control.command === Command.RUN) this.halted = false;
  }

  /** Before KVM_RUN with the user-space PIC: inject a pending interrupt, or ask for a window. */
  private injectInterrupt(): void {
    const run = this.vcpu.run;
    if (!this.control.irqPending) {
      if (run.requestInterruptWindow) run.requestInterruptWindow = 0;
      return;
    }
    if (this.readyKnown && run.readyForInterruptInjection && run.ifFlag) {
      const vector = this.mailbox.inta();
      if (vector >= 0) {
        this.vcpu.interrupt(vector);
        // Until KVM reports again, a second KVM_INTERRUPT would overwrite this one.
        this.readyKnown = false;
        this.stats.reason(STAT_INTERRUPT_INJECTED, 0);
        this.options.trace?.(`KVM_INTERRUPT vector ${hex(vector)}`);
      }
    }
    const want = this.control.irqPending ? 1 : 0;
    if (want !== run.requestInterruptWindow) {
      run.requestInterruptWindow = want;
      this.options.trace?.(`request_interrupt_window = ${want}`);
    }
  }

  /** One KVM_RUN and the handling of its exit. */
  private step(completingOnly: boolean): void {
    const { vcpu, stats } = this;
    const trace = this.options.trace;
    const run = vcpu.run;
    if (completingOnly) run.immediateExit = 1;
    else if (this.options.userIrqchip) this.injectInterrupt();
    trace?.(completingOnly ? 'KVM_RUN (immediate_exit = 1: complete the pending access)' : 'KVM_RUN');
    if (vcpu.runOnce() !== 0) {
      // Kicked (or the completion run): clear the kick before the loop reads the command.
      run.immediateExit = 0;
      this.needsCompletion = false;
      this.readyKnown = false;
      stats.reason(KvmExit.KVM_EXIT_INTR, 0);
      trace?.('exit INTR (-EINTR)');
      return;
    }
    this.needsCompletion = false;
    this.readyKnown = true;
    const t0 = performance.now();
    const exit = decodeExit(run);
    switch (exit.kind) {
      case 'io': {
        const claimed = this.maps.portClaimed(exit.port, exit.size);
        if (claimed) this.mailbox.pio(exit);
        else serveIo(exit, UNCLAIMED_PIO);
        this.needsCompletion = true;
        const ns = (performance.now() - t0) * 1e6;
        stats.reason(KvmExit.KVM_EXIT_IO, ns);
        stats.port(exit.port, ns);
        if (trace) trace(describeExit(exit) + (claimed ? '' : ' (unclaimed)'));
        return;
      }
      case 'mmio': {
        const slot = this.maps.findMmio(exit.address, exit.data.length);
        if (slot === MMIO_UNCLAIMED) {
          if (exit.direction === 'read') exit.data.fill(0xff);
        } else this.mailbox.mmio(exit);
        this.needsCompletion = true;
        const ns = (performance.now() - t0) * 1e6;
        stats.reason(KvmExit.KVM_EXIT_MMIO, ns);
        stats.mmio(slot >= 0 ? slot : slot === MMIO_UNCLAIMED ? MMIO_SLOT_UNCLAIMED : MMIO_SLOT_UNSURE, ns);
        if (trace) trace(describeExit(exit) + (slot === MMIO_UNCLAIMED ? ' (unclaimed)' : ''));
        return;
      }
      default: {
        const action = serveExit(exit, this.eventHandler);
        stats.reason(run.exitReason, (performance.now() - t0) * 1e6);
        trace?.(describeExit(exit));
        if (action.kind === 'halt') this.halted = this.options.userIrqchip;
        else if (action.kind === 'stop') this.stopWith(action.event);
      }
    }
  }

  /** Parks this vCPU (unless stopping) and hands the event to the main thread. */
  private stopWith(event: MachineEvent): void {
    this.control.requestPause();
    this.options.trace?.(`machine event ${event.kind}: ${event.kind === 'fatal' ? event.message : event.reason}`);
    this.mailbox.event(event);
  }
}
