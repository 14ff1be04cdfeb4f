/**
 * Gives the thread that runs the guest the host's CPU ahead of Node's helper threads.
 *
 * V8 compiles (WebAssembly tier-up, JavaScript optimisation) and collects garbage on a pool of
 * worker threads, four by default whatever the host has. On a 2-core host they took the
 * vCPU thread's core for about 1.1 s of a 12 s JIT Linux boot to /init (time on the run queue,
 * /proc/<pid>/task/<tid>/schedstat), and the boot ended about that much later. Raising the
 * helpers' nice value lets them run on idle cores and yield to the guest otherwise; the helpers
 * still finish their work (the process's total CPU time is unchanged). Measured alone, in turn:
 * run-queue wait 0.27-0.28 s instead of 1.10-1.15 s, /init at 11.1-12.1 s against 12.2-13.0 s.
 * On a 2-core host tsemu also runs with one helper instead of four (`--v8-pool-size=1`, set at
 * Node's start by packages/cli/bin/relaunch.js); this priority still orders that one.
 *
 * Threads created later by the vCPU thread (worker threads) inherit its priority, not the
 * helpers'. Linux only: elsewhere setpriority() takes a process, not a thread.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * How much nicer helper threads are than the vCPU thread: they keep about a tenth of a
 * contended core. Relative, as nice(1) is, so a tsemu started under `nice` keeps the order.
 */
export const HELPER_THREAD_NICENESS = 10;
const NICEST = 19;

/**
 * Lowers the priority of every thread of this process but the main one, which must be the
 * caller. Returns the threads changed; best effort (a thread may have exited, a sandbox may
 * forbid it).
 */
export function deprioritiseHelperThreads(): number {
  if (process.platform !== 'linux') return 0;
  // On Linux a thread's id names that thread alone; the main thread's is the process id.
  const nice = Math.min(NICEST, getPriority(process.pid) + HELPER_THREAD_NICENESS);
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return 0;
  }
  let changed = 0;
  for (const task of tasks) {
    const tid = Number(task);
    if (!Number.isInteger(tid) || tid === process.pid) continue;
    try {
      setPriority(tid, nice);
      changed++;
    } catch {
      // Gone already, or not ours to change: it keeps its priority.
    }
  }
  return changed;
}
