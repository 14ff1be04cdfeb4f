/**
 * KvmVcpu: the main thread's handle on one vCPU (the platform's `Vcpu`). It owns the vCPU
 * fd, the worker thread that runs it, and the shared control block, mailbox and counters.
 *
 * Register state is read and written on the main thread with the vCPU fd, and only while
 * the worker is parked (or not started): vCPU ioctls are serialized by KVM, but a state
 * read between an IO exit and its completion would be inconsistent. getState/setState on
 * a running vCPU therefore park it for the moment and let it go again.
 */
import { Worker } from 'node:worker_threads';
import { type CpuState, type VcpuRunState, type Vcpu } from '@tsemu/devices/platform';
import { cpuStateFromKvm, cpuStateToKvmRegs, cpuStateToKvmSregs } from './cpu-state-convert.js';
import { ExitStats } from './exit-stats.js';
import { sendKick } from './kick-signal.js';
import { Mailbox } from './mailbox.js';
import { KVM_MP_STATE_RUNNABLE } from './structs/kvm-irq.js';
import type { TraceSink } from './trace.js';
import { Command, Status, VcpuControl } from './vcpu-control.js';
import type { VcpuFd } from './vcpu-fd.js';
import type { VcpuWorkerData } from './vcpu-worker-data.js';

/** How long stop() waits for a worker before terminating it. */
const STOP_TIMEOUT_MS = 5000;

const RUN_STATES: Record<number, VcpuRunState> = {
  [Status.STARTING]: 'created',
  [Status.CREATED]: 'created',
  [Status.RUNNING]: 'running',
  [Status.PARKED]: 'paused',
  [Status.HALTED]: 'halted',
  [Status.STOPPED]: 'stopped',
};

/**
 * The parent's Node flags minus those that only make sense for an inline main script
 * (`node --input-type=module -e ...`): a worker inherits execArgv, and Node refuses to start
 * a worker file with --input-type.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++;
    else if (!argv[i].startsWith('--input-type=')) out.push(argv[i]);
  }
  return out;
}

export interface KvmVcpuOptions {
  irqchip: 'kernel' | 'user';
  trace: TraceSink;
  /** Whether the machine as a whole should be running (not paused, started, not destroyed). */
  runWanted(): boolean;
  /** The worker died of an uncaught error. */
  onWorkerError(vcpu: KvmVcpu, error: Error): void;
}

export class KvmVcpu implements Vcpu {
  readonly control = VcpuControl.create();
  readonly mailbox = Mailbox.create();
  readonly stats = ExitStats.create();
  /** The worker parked itself after reporting a MachineEvent; only start()/resume() release it. */
  eventParked = false;
  private worker: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;
  private destroying = false;
  private lock: Promise<void> = Promise.resolve();

  constructor(
    readonly fd: VcpuFd,
    private readonly options: KvmVcpuOptions,
  ) {}

  get index(): number {
    return this.fd.index;
  }

  get runState(): VcpuRunState {
    return this.closed ? 'stopped' : RUN_STATES[this.control.status] ?? 'stopped';
  }

  /** Starts the worker thread; resolves once it is ready (its thread id known). */
  async spawn(url: URL, data: Omit<VcpuWorkerData, 'control' | 'mailbox' | 'stats'>): Promise<void> {
    const workerData: VcpuWorkerData = { ...data, control: this.control.words.buffer as SharedArrayBuffer, mailbox: this.mailbox.buffer, stats: this.stats.buffer };
    const worker = new Worker(url, { workerData, execArgv: workerExecArgv(), stdout: false, stderr: false });
    this.worker = worker;
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', () => {
        this.control.setStatus(Status.STOPPED);
        this.worker = null;
        resolve();
      });
    });
    let startError: Error | null = null;
    worker.on('error', (e) => {
      const starting = this.control.status === Status.STARTING;
      this.control.setStatus(Status.STOPPED);
      if (starting) startError = e;
      else this.options.onWorkerError(this, e);
    });
    const status = await this.control.waitForStatus((s) => s !== Status.STARTING);
    if (status !== Status.CREATED) {
      throw new Error(`vCPU ${this.index} worker failed to start: ${(startError as Error | null)?.message ?? 'it exited'}`);
    }
  }

  /** Interrupts KVM_RUN: immediate_exit for the next entry, a signal for the current one. */
  kick(): void {
    this.fd.run.immediateExit = 1;
    const tid = this.control.tid;
    if (tid > 0 && this.worker) {
      this.options.trace?.(`kick vcpu ${this.index}: immediate_exit = 1, tgkill(tid ${tid}, SIGUSR2)`);
      sendKick(tid);
    }
  }

  /** Sets RUN (from IDLE or PAUSE; never over STOP). */
  run(): void {
    this.eventParked = false;
    const c = this.control.command;
    if (c === Command.IDLE || c === Command.PAUSE) this.control.setCommand(Command.RUN);
  }

  /**
   * Asks the worker to park; resolve with parked(). Only a worker that is RUNNING needs
   * the kick: the command is stored before the status is read, and the worker stores its
   * status before reading the command, so one of the two sees the other (both are
   * sequentially consistent Atomics).
   */
  requestPause(): void {
    if (this.control.requestPause() && this.control.status === Status.RUNNING) this.kick();
  }

  /** Resolves when the worker is parked, not started yet, or gone. */
  async parked(): Promise<void> {
    await this.control.waitForStatus((s) => s === Status.PARKED || s === Status.CREATED || s === Status.STOPPED);
  }

  /** Runs `fn` with this vCPU parked, then lets it run again if it was running. */
  private async withParked<T>(fn: () => T): Promise<T> {
    const previous = this.lock;
    let release = (): void => {};
    this.lock = new Promise<void>((r) => (release = r));
    await previous;
    try {
      if (this.destroying) throw new Error(`vCPU ${this.index} is destroyed`);
      const wasRunning = this.control.requestPause();
      if (wasRunning && this.control.status === Status.RUNNING) this.kick();
      await this.parked();
      try {
        return fn();
      } finally {
        if (wasRunning && !this.eventParked && this.options.runWanted()) this.control.resumeIfPaused();
      }
    } finally {
      release();
    }
  }

  getState(): Promise<CpuState> {
    return this.withParked(() => cpuStateFromKvm(this.fd.getRegs(), this.fd.getSregs()));
  }

  setState(state: CpuState): Promise<void> {
    const sregs = cpuStateToKvmSregs(state);
    const regs = cpuStateToKvmRegs(state);
    return this.withParked(() => {
      this.fd.setSregs(sregs);
      this.fd.setRegs(regs);
      // An in-kernel HLT leaves the vCPU HALTED; a new state starts the boot processor
      // running. An AP's mp_state (waiting for SIPI, ...) is not part of CpuState: kept.
      if (this.options.irqchip === 'kernel' && this.index === 0) this.fd.setMpState(KVM_MP_STATE_RUNNABLE);
      this.control.markStateReplaced();
    });
  }

  /** Stops the worker (waiting for it to leave KVM_RUN) and closes the fd. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroying) return this.lock;
    this.destroying = true;
    this.control.setCommand(Command.STOP);
    if (this.worker) {
      if (this.control.status === Status.RUNNING) this.kick();
      const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS).unref());
      if ((await Promise.race([this.exited, timer])) === 'timeout') {
        await this.worker?.terminate();
        await this.exited;
      }
    }
    // A state read that was waiting for the worker to park finishes before the fd goes.
    await this.lock;
    this.closed = true;
    this.fd.close();
  }
}
