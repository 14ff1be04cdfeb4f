/**
 * Entry point of a vCPU worker thread (worker_threads). It attaches to the vCPU fd and
 * kvm_run mapping the main thread created, records its Linux thread id (the target of
 * the kick signal), and runs VcpuLoop until told to stop. It owns no fd and registers no
 * event-loop handle, so the thread ends as soon as the loop returns.
 */
import { writeSync } from 'node:fs';
import { isMainThread, workerData } from 'node:worker_threads';
import { ExitStats } from './exit-stats.js';
import { IoMaps } from './io-maps.js';
import { libc } from './libc.js';
import { Mailbox } from './mailbox.js';
import { hex } from './trace.js';
import { VcpuControl, Status } from './vcpu-control.js';
import { VcpuFd } from './vcpu-fd.js';
import { VcpuLoop } from './vcpu-loop.js';
import type { RamSlotInfo, VcpuWorkerData } from './vcpu-worker-data.js';

const CR0_PG = 1n << 31n;
const EFER_LMA = 1n << 10n;
const CODE_BYTES = 16;

/** Guest RAM as this thread sees it, for a look at the code around a fatal exit. */
class RamWindow {
  private readonly views = new Map<RamSlotInfo, Uint8Array>();
  constructor(private readonly slots: readonly RamSlotInfo[]) {}

  read(gpa: number, length: number): Uint8Array | null {
    for (const s of this.slots) {
      if (gpa >= s.gpa && gpa + length <= s.gpa + s.size) {
        let v = this.views.get(s);
        if (!v) this.views.set(s, (v = new Uint8Array(libc().view(s.hostAddress, s.size))));
        return v.subarray(gpa - s.gpa, gpa - s.gpa + length);
      }
    }
    return null;
  }
}

function describeCpu(vcpu: VcpuFd, ram: RamWindow): string {
  try {
    const regs = vcpu.getRegs();
    const sregs = vcpu.getSregs();
    let s = `RIP=${hex(regs.rip)} CS=${hex(sregs.cs.selector)} (base ${hex(sregs.cs.base)}) RFLAGS=${hex(regs.rflags)} CR0=${hex(sregs.cr0)}`;
    if ((sregs.cr0 & CR0_PG) === 0n) {
      // Paging off: linear = physical, so the bytes at CS:RIP are in RAM (if anywhere).
      const linear = sregs.cs.base + regs.rip;
      const gpa = Number((sregs.efer & EFER_LMA) !== 0n ? linear : linear & 0xffffffffn);
      const code = ram.read(gpa, CODE_BYTES);
      if (code) s += ` code ${[...code].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
    }
    return s;
  } catch (e) {
    return `(registers unavailable: ${(e as Error).message})`;
  }
}

function main(data: VcpuWorkerData): void {
  const trace = data.trace
    ? (line: string) => {
        writeSync(2, `${data.tracePrefix}${line}\n`);
      }
    : null;
  const control = new VcpuControl(new Int32Array(data.control));
  control.setTid(libc().gettid());
  const vcpu = VcpuFd.attach(data.vcpuFd, data.index, data.runAddress, data.runSize, trace);
  const ram = new RamWindow(data.ram);
  const loop = new VcpuLoop(vcpu, control, new Mailbox(data.mailbox, data.mailboxSpinUs), new IoMaps(data.ioMaps), new ExitStats(data.stats), {
    userIrqchip: data.irqchip === 'user',
    trace,
    describeCpu: () => describeCpu(vcpu, ram),
  });
  try {
    loop.run();
  } finally {
    control.setStatus(Status.STOPPED);
  }
}

if (!isMainThread) main(workerData as VcpuWorkerData);
