/**
 * A watchdog that bounds one synchronous KVM_RUN: a POSIX timer aimed at the calling thread
 * (timer_create with SIGEV_THREAD_ID, see timer_create(2)) raises SIGUSR2 at it while it sits
 * in KVM_RUN, and KVM returns -1/EINTR (exit reason KVM_EXIT_INTR) with the guest state intact.
 *
 * Why this design:
 * - A process-directed signal (alarm, setitimer) may land on any of Node's threads and
 *   never interrupt the ioctl; a thread-directed timer cannot miss.
 * - The timer is periodic after its first expiry: a signal that arrives in the few
 *   microseconds between arming and entering KVM_RUN is consumed by the handler and would
 *   be lost, but the next period kicks again. The caller tells a real timeout from a stray
 *   EINTR by the elapsed time.
 * - Node's default action for SIGUSR2 kills the process, so a no-op listener is installed
 *   while the watchdog exists (SIGUSR1 belongs to Node's inspector; the KVM accelerator
 *   kicks its vCPU threads with SIGUSR2 too, and a stray kick is harmless to both).
 *
 * libc is bound with koffi here, not through @tsemu/accel-kvm, which does not export its
 * libc binding and has no timer calls.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

const CLOCK_MONOTONIC = 1;
const SIGEV_THREAD_ID = 4;
const SIGUSR2 = 12;
const SYS_gettid = 186;
/** struct sigevent on x86-64: sigev_value (8), sigev_signo (4), sigev_notify (4), _tid at 16; 64 bytes. */
const SIGEVENT_SIZE = 64;
/** struct itimerspec: it_interval then it_value, each { tv_sec, tv_nsec } as 64-bit. */
const ITIMERSPEC_SIZE = 32;

interface TimerCalls {
  timerCreate(clock: number, sevp: Uint8Array, timerid: Uint8Array): number;
  timerSettime(timerid: bigint, flags: number, value: Uint8Array, old: null): number;
  timerDelete(timerid: bigint): number;
  gettid(): number;
  errno(): number;
}

let calls: TimerCalls | null = null;

function timerCalls(): TimerCalls {
  if (calls) return calls;
  const koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  const lib = koffi.load('libc.so.6');
  // timer_t is an opaque `void *` in glibc; passed back as the integer it was given.
  const timerCreate = lib.func('timer_create', 'int', ['int', 'void *', 'void *']);
  const timerSettime = lib.func('timer_settime', 'int', ['intptr_t', 'int', 'void *', 'void *']);
  const timerDelete = lib.func('timer_delete', 'int', ['intptr_t']);
  const syscall1 = lib.func('syscall', 'long', ['long']);
  const errnoLocation = lib.func('__errno_location', 'int *', []);
  const errnoAddress = errnoLocation() as bigint;
  calls = {
    timerCreate: (clock, sevp, timerid) => timerCreate(clock, sevp, timerid) as number,
    timerSettime: (timerid, flags, value, old) => timerSettime(timerid, flags, value, old) as number,
    timerDelete: (timerid) => timerDelete(timerid) as number,
    gettid: () => Number(syscall1(SYS_gettid)),
    errno: () => koffi.decode(errnoAddress, 'int') as number,
  };
  return calls;
}

const ignoreSignal = (): void => {};

export class RunWatchdog {
  private readonly spec = new Uint8Array(ITIMERSPEC_SIZE);
  private readonly specView = new DataView(this.spec.buffer);
  private readonly disarmSpec = new Uint8Array(ITIMERSPEC_SIZE);
  private closed = false;

  private constructor(
    private readonly timerId: bigint,
    /** The thread the timer kicks: the one that created the watchdog. */
    readonly tid: number,
  ) {}

  /** Creates a disarmed timer that will signal the calling thread. */
  static create(): RunWatchdog {
    const c = timerCalls();
    const tid = c.gettid();
    const sev = new Uint8Array(SIGEVENT_SIZE);
    const dv = new DataView(sev.buffer);
    dv.setInt32(8, SIGUSR2, true);
    dv.setInt32(12, SIGEV_THREAD_ID, true);
    dv.setInt32(16, tid, true);
    const out = new Uint8Array(8);
    process.on('SIGUSR2', ignoreSignal);
    if (c.timerCreate(CLOCK_MONOTONIC, sev, out) !== 0) {
      const errno = c.errno();
      process.off('SIGUSR2', ignoreSignal);
      throw new Error(`timer_create(SIGEV_THREAD_ID) failed: errno ${errno}`);
    }
    return new RunWatchdog(new DataView(out.buffer).getBigInt64(0, true), tid);
  }

  /** Fires after `firstMs`, then every `periodMs` until disarmed. */
  arm(firstMs: number, periodMs: number): void {
    const setMs = (at: number, ms: number): void => {
      const ns = BigInt(Math.max(1, Math.round(ms * 1e6)));
      this.specView.setBigInt64(at, ns / 1_000_000_000n, true);
      this.specView.setBigInt64(at + 8, ns % 1_000_000_000n, true);
    };
    setMs(0, periodMs);
    setMs(16, firstMs);
    this.settime(this.spec);
  }

  disarm(): void {
    this.settime(this.disarmSpec);
  }

  private settime(spec: Uint8Array): void {
    const c = timerCalls();
    if (c.timerSettime(this.timerId, 0, spec, null) !== 0) throw new Error(`timer_settime failed: errno ${c.errno()}`);
  }

  /** Deletes the timer; a signal already raised was delivered by the time the syscall returns. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    timerCalls().timerDelete(this.timerId);
    process.off('SIGUSR2', ignoreSignal);
  }
}
