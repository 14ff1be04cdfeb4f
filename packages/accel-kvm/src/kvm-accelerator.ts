/**
 * The KVM accelerator (the platform's `Accelerator`): builds a VM from a MachineBinding
 * and runs each vCPU in a worker thread, while the device models stay on the main thread.
 *
 * Set-up order (Documentation/virt/kvm/api.rst; QEMU kvm_init / kvm_arch_init; Firecracker
 * vstate): open /dev/kvm, check the API version and capabilities, KVM_CREATE_VM, the TSS
 * and identity-map pages, the in-kernel irqchip and PIT (irqchip 'kernel'), one memory
 * slot per RAM region, then per vCPU: KVM_CREATE_VCPU, mmap kvm_run, KVM_SET_CPUID2 (from
 * KVM_GET_SUPPORTED_CPUID), FPU and MSRs, and its worker.
 *
 * At run time the main thread serves each worker's mailbox (device accesses, INTA, machine
 * events), keeps the shared port/MMIO maps in step with the buses, and kicks vCPUs out of
 * KVM_RUN for pause, stop and user-space interrupts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type {
  Accelerator, ExitStatRow, IoRange, IrqLine, MachineBinding, RamRegion,
} from '@tsemu/devices/platform';
import { cpuidForVcpu } from './cpuid-setup.js';
import { serveIo, serveMmio } from './exit-dispatch.js';
import { collectRows, foldMmio, StatTable } from './exit-stats.js';
import { IoMaps, LayoutWatch } from './io-maps.js';
import { KvmCap } from './ioctls.js';
import { holdKickSignal, releaseKickSignal } from './kick-signal.js';
import { Kvm } from './kvm.js';
import { KvmVcpu } from './kvm-vcpu.js';
import { PAGE_SIZE } from './libc.js';
import { MailboxServer, defaultMailboxTiming, type MailboxTiming } from './mailbox.js';
import { KERNEL_IRQCHIP_CAPS, REQUIRED_CAPS, requireCaps } from './probe.js';
import { resetKvmFpu } from './structs/kvm-fpu.js';
import { KVM_MEM_READONLY } from './structs/kvm-memory-region.js';
import { MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STRING } from './structs/kvm-msrs.js';
import { hex, type TraceSink } from './trace.js';
import { Status } from './vcpu-control.js';
import type { RamSlotInfo } from './vcpu-worker-data.js';
import type { VmFd } from './vm-fd.js';

/** A RAM region as a KVM memory slot; read-only slots make guest writes exit as MMIO (ROM). */
export interface KvmRamRegion extends RamRegion {
  readonly readOnly?: boolean;
}

export interface KvmAcceleratorOptions {
  /** Default 1. More than one needs irqchip 'kernel' (APs need local APICs for INIT/SIPI). */
  vcpuCount?: number;
  /** 'kernel': KVM's PIC/IOAPIC/LAPIC and PIT; 'user': the machine's own PIC on the port bus. */
  irqchip: 'kernel' | 'user';
  /**
   * irqchip 'user' only: the machine models a local APIC (its MMIO page exits to user space),
   * so CPUID keeps the APIC bit. Default false: no APIC, the guest uses the PIC.
   */
  userLocalApic?: boolean;
  /** Narrates the ioctl flow (main thread through this sink, workers on stderr). */
  trace?: TraceSink;
  /** Memory slots; default binding.memory.regions, all writable. */
  ramRegions?: readonly KvmRamRegion[];
  /** Non-fatal problems (an MSR KVM refused ...); they are also kept in `warnings`. */
  onWarning?: ((message: string) => void) | null;
  /** Default /dev/kvm. */
  devicePath?: string;
  /** Polling before sleeping on the mailbox (see mailbox.ts); default from defaultMailboxTiming(). */
  mailboxTiming?: Partial<MailboxTiming>;
}

/** A configuration KVM cannot run (not a host problem). */
export class KvmConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KvmConfigError';
  }
}

/** The vCPU worker script: beside this file in dist/; from src/ (tests), the built copy. */
function workerUrl(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../dist/vcpu-worker.js', here) : new URL('./vcpu-worker.js', here);
  if (!existsSync(fileURLToPath(url))) {
    throw new KvmConfigError(`the vCPU worker script ${fileURLToPath(url)} is missing (build with "npx tsc -b")`);
  }
  return url;
}

function checkSlot(r: KvmRamRegion, backingSize: number): void {
  const aligned = (v: number): boolean => v % PAGE_SIZE === 0;
  if (!aligned(r.gpa) || !aligned(r.size) || !aligned(r.offset)) {
    throw new KvmConfigError(`RAM region at ${hex(r.gpa)} (size ${hex(r.size)}, offset ${hex(r.offset)}) is not page aligned, as KVM memory slots must be`);
  }
  if (r.size <= 0 || r.offset < 0 || r.offset + r.size > backingSize) {
    throw new KvmConfigError(`RAM region at ${hex(r.gpa)} does not fit the RAM backing`);
  }
}

export class KvmAccelerator implements Accelerator {
  readonly kind = 'kvm' as const;
  readonly kernelIrqLines: ((gsi: number) => IrqLine) | null;
  readonly warnings: string[] = [];
  private readonly ioMaps = IoMaps.create();
  private readonly pioWatch = new LayoutWatch();
  private readonly mmioWatch = new LayoutWatch();
  private mmioInMaps: readonly IoRange[] = [];
  private readonly mmioHistory = new StatTable();
  private readonly servers: MailboxServer[] = [];
  private readonly serverLoops: Promise<void>[] = [];
  private readonly irqLines = new Map<number, IrqLine>();
  private readonly trace: TraceSink;
  private readonly timing: MailboxTiming;
  private started = false;
  private paused = false;
  private destroyed: Promise<void> | null = null;
  readonly vcpus: KvmVcpu[] = [];

  private constructor(
    private readonly binding: MachineBinding,
    private readonly options: KvmAcceleratorOptions,
    readonly kvm: Kvm,
    readonly vm: VmFd,
  ) {
    this.trace = options.trace ?? null;
    this.timing = { ...defaultMailboxTiming(), ...options.mailboxTiming };
    this.kernelIrqLines = options.irqchip === 'kernel' ? (gsi) => this.irqLine(gsi) : null;
  }

  /** Builds the VM and its vCPUs (workers started, parked until start()). */
  static async create(binding: MachineBinding, options: KvmAcceleratorOptions): Promise<KvmAccelerator> {
    const vcpuCount = options.vcpuCount ?? 1;
    if (options.irqchip !== 'kernel' && options.irqchip !== 'user') throw new KvmConfigError(`irqchip must be 'kernel' or 'user'`);
    if (!Number.isInteger(vcpuCount) || vcpuCount < 1) throw new KvmConfigError(`invalid vCPU count ${vcpuCount}`);
    if (vcpuCount > 1 && options.irqchip === 'user') throw new KvmConfigError('more than one vCPU needs irqchip "kernel"');
    const backing = binding.memory.backing;
    if (backing.hostAddress === null) throw new KvmConfigError(`KVM needs an mmap RAM backing (createMmapRamBacking), not ${backing.kind}`);
    const regions: readonly KvmRamRegion[] = options.ramRegions ?? binding.memory.regions;
    for (const r of regions) checkSlot(r, backing.size);
    const url = workerUrl();
    const trace = options.trace ?? null;

    const kvm = Kvm.open({ path: options.devicePath, trace });
    let acc: KvmAccelerator | null = null;
    holdKickSignal();
    try {
      requireCaps(kvm, REQUIRED_CAPS);
      if (options.irqchip === 'kernel') requireCaps(kvm, KERNEL_IRQCHIP_CAPS);
      if (regions.some((r) => r.readOnly)) requireCaps(kvm, ['KVM_CAP_READONLY_MEM']);
      const maxVcpus = kvm.checkExtension(KvmCap.KVM_CAP_MAX_VCPUS) || kvm.checkExtension(KvmCap.KVM_CAP_NR_VCPUS) || 4;
      if (vcpuCount > maxVcpus) throw new KvmConfigError(`this KVM allows at most ${maxVcpus} vCPUs`);
      const vm = kvm.createVm();
      acc = new KvmAccelerator(binding, options, kvm, vm);
      vm.setTssAddr();
      if (kvm.checkExtension(KvmCap.KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) vm.setIdentityMapAddr();
      if (options.irqchip === 'kernel') {
        vm.createIrqchip();
        vm.createPit2();
      }
      const slots: RamSlotInfo[] = [];
      regions.forEach((r, slot) => {
        const hostAddress = (backing.hostAddress as bigint) + BigInt(r.offset);
        vm.setUserMemoryRegion({
          slot, flags: r.readOnly ? KVM_MEM_READONLY : 0,
          guestPhysAddr: BigInt(r.gpa), memorySize: BigInt(r.size), userspaceAddr: hostAddress,
        });
        slots.push({ gpa: r.gpa, size: r.size, hostAddress });
      });
      const runSize = kvm.vcpuMmapSize();
      const cpuid = kvm.getSupportedCpuid();
      for (let i = 0; i < vcpuCount; i++) acc.createVcpu(i, runSize, cpuid);
      acc.syncIoMaps();
      for (const v of acc.vcpus) {
        await v.spawn(url, {
          index: v.index, vcpuFd: v.fd.fd, runAddress: v.fd.runAddress, runSize, irqchip: options.irqchip,
          trace: trace !== null, tracePrefix: vcpuCount > 1 ? `vcpu${v.index}: ` : '', ioMaps: acc.ioMaps.buffer, ram: slots,
          mailboxSpinUs: acc.timing.workerSpinUs,
        });
      }
      return acc;
    } catch (e) {
      if (acc) await acc.destroy();
      else {
        kvm.close();
        releaseKickSignal();
      }
      throw e;
    }
  }

  /** Creates and configures vCPU `index`; it joins `vcpus` at once so a failure still closes it. */
  private createVcpu(index: number, runSize: number, supportedCpuid: Parameters<typeof cpuidForVcpu>[0]): void {
    const fd = this.vm.createVcpu(index, runSize);
    const vcpu = new KvmVcpu(fd, {
      irqchip: this.options.irqchip,
      trace: this.trace,
      runWanted: () => this.started && !this.paused && this.destroyed === null,
      onWorkerError: (v, e) => this.binding.onEvent({ kind: 'fatal', message: `vCPU ${v.index} thread failed: ${e.message}` }),
    });
    this.vcpus.push(vcpu);
    this.startServer(vcpu);
    fd.setCpuid2(cpuidForVcpu(supportedCpuid, index, this.options.irqchip, this.options.userLocalApic === true));
    fd.setFpu(resetKvmFpu());
    const msrs = fd.setMsrs([{ index: MSR_IA32_MISC_ENABLE, data: MSR_IA32_MISC_ENABLE_FAST_STRING }]);
    for (const m of msrs.refused) this.warn(`vCPU ${index}: KVM refused MSR ${hex(m)} (continuing without it)`);
  }

  private startServer(vcpu: KvmVcpu): void {
    const b = this.binding;
    const user = this.options.irqchip === 'user';
    const server = new MailboxServer(vcpu.mailbox, {
      pio: (exit) => serveIo(exit, b.pio),
      mmio: (exit) => serveMmio(exit, b.mmio),
      inta: () => (b.interrupts.hasPendingInterrupt() ? b.interrupts.acknowledgeInterrupt() & 0xff : -1),
      event: (event) => {
        vcpu.eventParked = true;
        this.trace?.(`vcpu ${vcpu.index} reports ${event.kind}: ${event.kind === 'fatal' ? event.message : event.reason}`);
        b.onEvent(event);
      },
      afterServe: () => {
        this.syncIoMaps(false);
        if (user) vcpu.control.setIrqPending(b.interrupts.hasPendingInterrupt());
      },
      error: (e) => b.onEvent({ kind: 'fatal', message: `a device model threw while serving vCPU ${vcpu.index}: ${(e as Error).message}` }),
    }, this.timing);
    this.servers.push(server);
    this.serverLoops.push(server.run());
  }

  private warn(message: string): void {
    this.warnings.push(message);
    this.trace?.(`warning: ${message}`);
    this.options.onWarning?.(message);
  }

  private irqLine(gsi: number): IrqLine {
    let line = this.irqLines.get(gsi);
    if (!line) {
      let level: boolean | null = null;
      line = {
        setLevel: (high: boolean) => {
          if (high === level || this.destroyed) return;
          level = high;
          try {
            this.vm.irqLine(gsi, high);
          } catch (e) {
            this.warn(`KVM_IRQ_LINE gsi ${gsi}: ${(e as Error).message}`);
          }
        },
      };
      this.irqLines.set(gsi, line);
    }
    return line;
  }

  /**
   * Publishes the buses' current port and MMIO registrations to the workers. Called on
   * start/resume and after every served device access (a guest write can move a PCI BAR);
   * call it after changing a bus from the host while the machine runs.
   */
  syncIoMaps(force = true): void {
    const pio = this.binding.pio.list();
    const mmio = this.binding.mmio.list();
    const pioChanged = this.pioWatch.changed(pio);
    const mmioChanged = this.mmioWatch.changed(mmio);
    if (!force && !pioChanged && !mmioChanged) return;
    if (mmioChanged) {
      // MMIO counters are kept per range index: bank them before the indices move.
      for (const v of this.vcpus) {
        foldMmio(v.stats, this.mmioInMaps, this.mmioHistory);
        v.stats.clearMmioRanges();
      }
    }
    this.ioMaps.update(pio, mmio);
    this.mmioInMaps = [...mmio];
  }

  start(): void {
    if (this.destroyed) return;
    this.syncIoMaps();
    this.started = true;
    this.paused = false;
    this.trace?.('start: vCPUs run');
    for (const v of this.vcpus) v.run();
  }

  async pause(): Promise<void> {
    if (this.destroyed) return;
    this.paused = true;
    this.trace?.('pause: vCPUs park');
    for (const v of this.vcpus) v.requestPause();
    await Promise.all(this.vcpus.map((v) => v.parked()));
  }

  resume(): void {
    if (this.destroyed || !this.started) return;
    this.start();
  }

  notifyInterrupt(): void {
    if (this.options.irqchip !== 'user' || this.destroyed) return;
    const bsp = this.vcpus[0];
    const pending = this.binding.interrupts.hasPendingInterrupt();
    bsp.control.setIrqPending(pending);
    // While a request of this vCPU is being served it is out of KVM_RUN and will see the flag.
    if (pending && !this.servers[0].serving && bsp.control.status === Status.RUNNING) bsp.kick();
  }

  stats(): readonly ExitStatRow[] {
    const table = new StatTable();
    const pio = this.binding.pio.list();
    for (const v of this.vcpus) collectRows(v.stats, pio, this.mmioInMaps, table);
    table.merge(this.mmioHistory);
    return table.list();
  }

  destroy(): Promise<void> {
    this.destroyed ??= this.teardown();
    return this.destroyed;
  }

  private async teardown(): Promise<void> {
    this.trace?.('destroy: stop vCPUs, close fds');
    await Promise.all(this.vcpus.map((v) => v.destroy()));
    for (const s of this.servers) s.stop();
    await Promise.all(this.serverLoops);
    this.vm.close();
    this.kvm.close();
    releaseKickSignal();
  }
}

/** Creates the KVM accelerator for a machine: the VM, its memory slots and parked vCPUs. */
export function createKvmAccelerator(binding: MachineBinding, options: KvmAcceleratorOptions): Promise<KvmAccelerator> {
  return KvmAccelerator.create(binding, options);
}
