/**
 * The signal that kicks a vCPU thread out of KVM_RUN. SIGUSR2 because SIGUSR1 belongs to
 * Node's inspector. Its default action kills the process, so a (no-op) listener must be
 * installed while any accelerator exists; the listener's handle does not keep Node's
 * event loop alive. With the listener, a signal aimed at the vCPU thread interrupts the
 * KVM_RUN ioctl, which returns -1/EINTR.
 */
import { SIGUSR2, libc } from './libc.js';

let holders = 0;
const ignore = (): void => {};

export function holdKickSignal(): void {
  if (holders++ === 0) process.on('SIGUSR2', ignore);
}

export function releaseKickSignal(): void {
  if (holders > 0 && --holders === 0) process.off('SIGUSR2', ignore);
}

/** Sends the kick to one thread of this process. */
export function sendKick(tid: number): void {
  const c = libc();
  c.tgkill(c.getpid(), tid, SIGUSR2);
}
