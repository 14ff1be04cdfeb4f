/**
 * Local APIC (xAPIC mode, MMIO page at IA32_APIC_BASE, 0xFEE00000 by default) for the
 * software CPU and for KVM with a user-space irqchip. Facts from the Intel SDM Vol. 3A
 * chapter 11, QEMU hw/intc/apic.c and Linux arch/x86/kernel/apic/apic.c.
 *
 * This file holds the register page, the CPU-facing InterruptSource and the enable
 * states; priority rules are in local-apic-priority.ts, the LVT and LINT pins in
 * local-apic-lvt.ts, the timer in local-apic-timer.ts, ICR decoding in local-apic-icr.ts.
 * - INTA with nothing dispatchable (the request vanished, or TPR rose after INTR was
 *   signalled) answers the SVR's spurious vector, which needs no EOI (11.9).
 * - Vectors 0-15 are illegal: received -> ESR bit 6, sent -> ESR bit 5 and not sent.
 *   The ESR shows the errors collected up to the last write to it (11.5.3); a newly
 *   detected error raises the LVT error interrupt.
 * - SVR bit 8 clear (software-disabled, the reset state, 11.4.7.2): LVT masks forced
 *   on, fixed interrupts refused, IRR/ISR kept. IA32_APIC_BASE bit 11 clear
 *   (hardware-disabled, 11.4.3): registers read all ones, IPIs are ignored, LINT0/LINT1
 *   act as the INTR and NMI pins, and the APIC comes back in its power-up state.
 * - Fixed self-IPIs are taken here; every other ICR send goes to the injected sendIpi
 *   and the machine routes it (back here too for "all including self" or a matching
 *   destination, see matchesDestination). Delivery is synchronous: delivery status
 *   bits always read idle.
 *
 * Deviations, on purpose:
 * - While software-disabled, LINT0 passes the 8259's INTR straight through and LINT1 is
 *   NMI, as when hardware-disabled, so a guest (or firmware) that never programs
 *   virtual-wire mode still gets PIC interrupts. QEMU gets the same effect by resetting
 *   the BSP's LINT0 to ExtINT.
 * - APIC fixed interrupts are offered before a pass-through PIC interrupt (QEMU's
 *   cpu_get_pic_interrupt order).
 * - No x2APIC (IA32_APIC_BASE bit 10 ignored and counted), no EOI-broadcast suppression,
 *   no CMCI LVT (version 0x50014: six LVT entries). SMI and lowest-priority arbitration
 *   are the machine's; thermal and perfmon LVTs have no sources.
 * - TSC-deadline mode exists only when `tscFrequencyHz` is given; otherwise LVT timer
 *   mode bit 18 is read-only zero and the CPU must not claim CPUID.1:ECX[24].
 */
import type { AccessSize, Clock, InterruptSource, IoDevice, IrqLine, Persistable } from './platform/index.js';
import * as R from './local-apic-registers.js';
import { ApicTimer } from './local-apic-timer.js';
import { ApicPriority } from './local-apic-priority.js';
import { ApicLvt } from './local-apic-lvt.js';
import { apicMatchesDestination, decodeIcr, type ApicIpi } from './local-apic-icr.js';

export {
  APIC_DEFAULT_BASE, APIC_MMIO_SIZE, localApicStateSchema, apicBaseReservedBits,
  type LocalApicState, type ApicDeliveryMode, type ApicShorthand,
} from './local-apic-registers.js';
export { type ApicIpi } from './local-apic-icr.js';
import type { LocalApicState } from './local-apic-registers.js';

export interface LocalApicOptions {
  clock: Clock;
  /** APIC ID (bits 31:24 of the ID register); default 0. */
  id?: number;
  /** Bootstrap processor flag in IA32_APIC_BASE; default true. */
  bsp?: boolean;
  /** INTR towards the CPU: high while hasPendingInterrupt() is true. */
  output?: IrqLine;
  /** Called for each ICR send except fixed self-IPIs. */
  sendIpi?: (ipi: ApicIpi) => void;
  /** EOI of a level-triggered vector, for the I/O APIC. */
  onLevelEoi?: (vector: number) => void;
  /** An NMI became pending (read it with takeNmi()). */
  onNmi?: () => void;
  /** INIT was received; the APIC has already reset itself. */
  onInit?: () => void;
  /** A Startup IPI arrived with this vector (start at vector << 12). */
  onStartup?: (vector: number) => void;
  /** IA32_APIC_BASE moved the MMIO page; the machine re-registers it. */
  onRelocate?: (baseAddress: number) => void;
  /**
   * Reset LINT0 to ExtINT, unmasked (0x700), as QEMU does for the BSP in place of the
   * firmware's virtual-wire setup; default false (SDM reset value, masked).
   */
  virtualWireAtReset?: boolean;
  /** Enables TSC-deadline mode with this TSC rate. */
  tscFrequencyHz?: number;
  persistKey?: string;
}

export interface LocalApicCounters {
  /** Accesses that are not aligned 32-bit register accesses. */
  badAccess: number;
  /** Reads or writes of reserved register offsets (also ESR bit 7). */
  illegalRegister: number;
  /** Fixed interrupts refused while software- or hardware-disabled. */
  dropped: number;
  /** Requests the model does not implement (SMI, x2APIC enable, ExtINT IPIs...). */
  unsupported: number;
}

export class LocalApic implements IoDevice, InterruptSource, Persistable<LocalApicState> {
  readonly name: string;
  readonly persistKey: string;
  readonly counters: LocalApicCounters = { badAccess: 0, illegalRegister: 0, dropped: 0, unsupported: 0 };
  /** LINT0 input pin: the 8259's INTR output connects here. */
  readonly lint0: IrqLine;
  /** LINT1 input pin (NMI on the PC). */
  readonly lint1: IrqLine;

  private readonly clock: Clock;
  private readonly options: LocalApicOptions;
  private readonly timer: ApicTimer;
  private readonly tscDeadlineMode: boolean;
  private extInt: InterruptSource | null = null;
  private apicBase: bigint;
  private id: number;
  private readonly prio = new ApicPriority();
  private ldr = 0;
  private dfr = R.DFR_RESET_VALUE;
  private svr = R.SVR_RESET_VALUE;
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt: ApicLvt;
  private divideConfig = 0;
  private nmiPending = false;
  private outputLevel = false;

  constructor(options: LocalApicOptions) {
    this.options = options;
    this.clock = options.clock;
    this.id = (options.id ?? 0) & 0xff;
    this.name = `local-apic-${this.id}`;
    this.persistKey = options.persistKey ?? this.name;
    this.tscDeadlineMode = (options.tscFrequencyHz ?? 0) > 0;
    this.timer = new ApicTimer(this.clock, options.tscFrequencyHz ?? 0, () => this.timerExpired());
    this.apicBase = BigInt(R.APIC_DEFAULT_BASE) | R.APIC_BASE_GLOBAL_ENABLE | ((options.bsp ?? true) ? R.APIC_BASE_BSP : 0n);
    this.lvt = new ApicLvt(
      {
        active: () => this.apicActive(),
        accept: (vector, trigger) => this.acceptInterrupt(vector, trigger),
        nmi: () => this.raiseNmi(),
        unsupported: () => this.counters.unsupported++,
      },
      this.tscDeadlineMode,
    );
    this.lint0 = { setLevel: (high) => this.lintInput(0, high) };
    this.lint1 = { setLevel: (high) => this.lintInput(1, high) };
    this.resetRegisters();
  }

  /** Power-on reset: registers as in SDM 11.4.7.1, IA32_APIC_BASE at its default. */
  reset(): void {
    const moved = this.baseAddress() !== R.APIC_DEFAULT_BASE;
    this.apicBase = BigInt(R.APIC_DEFAULT_BASE) | R.APIC_BASE_GLOBAL_ENABLE | (this.apicBase & R.APIC_BASE_BSP);
    this.nmiPending = false;
    this.resetRegisters();
    if (moved) this.options.onRelocate?.(R.APIC_DEFAULT_BASE);
  }

  /** Register reset shared by power-on, INIT and hardware disable; the ID is kept. */
  private resetRegisters(): void {
    this.prio.reset();
    this.ldr = 0;
    this.dfr = R.DFR_RESET_VALUE;
    this.svr = R.SVR_RESET_VALUE;
    this.esr = 0;
    this.esrPending = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.lvt.reset();
    if (this.options.virtualWireAtReset === true) this.lvt.entries[R.LVT_LINT0] = R.DM_EXTINT << R.LVT_DELIVERY_MODE_SHIFT;
    this.divideConfig = 0;
    this.timer.reset();
    this.updateOutput();
  }

  // ---- IA32_APIC_BASE, CR8, IA32_TSC_DEADLINE ----

  getApicBase(): bigint {
    return this.apicBase;
  }

  /** WRMSR IA32_APIC_BASE: base address and global enable; the BSP bit is read-only. */
  setApicBase(value: bigint | number): void {
    const v = BigInt.asUintN(64, BigInt(value));
    if ((v & R.APIC_BASE_X2APIC_ENABLE) !== 0n) this.counters.unsupported++;
    const wasEnabled = this.hardwareEnabled();
    const oldAddress = this.baseAddress();
    this.apicBase = (v & (R.APIC_BASE_ADDRESS_MASK | R.APIC_BASE_GLOBAL_ENABLE)) | (this.apicBase & R.APIC_BASE_BSP);
    if (wasEnabled && !this.hardwareEnabled()) this.resetRegisters();
    if (this.baseAddress() !== oldAddress) this.options.onRelocate?.(this.baseAddress());
    this.updateOutput();
  }

  /** Guest-physical address of the MMIO page. */
  baseAddress(): number {
    return Number(this.apicBase & R.APIC_BASE_ADDRESS_MASK);
  }

  /** CR8 is TPR[7:4]; writing it clears TPR[3:0] (SDM 11.8.6.1). */
  readCr8(): number {
    return this.prio.tpr >> 4;
  }

  writeCr8(value: number): void {
    this.prio.tpr = (value & 0xf) << 4;
    this.updateOutput();
  }

  /** True when TSC-deadline mode is modelled (CPUID.1:ECX[24] may be claimed). */
  supportsTscDeadline(): boolean {
    return this.tscDeadlineMode;
  }

  /** RDMSR IA32_TSC_DEADLINE: 0 outside TSC-deadline mode and once it has fired. */
  readTscDeadline(): bigint {
    return this.timerMode() === R.TIMER_MODE_TSC_DEADLINE ? this.timer.tscDeadline : 0n;
  }

  /** WRMSR IA32_TSC_DEADLINE: ignored outside TSC-deadline mode (SDM 11.5.4.1). */
  writeTscDeadline(ticks: bigint): void {
    if (!this.hardwareEnabled() || this.timerMode() !== R.TIMER_MODE_TSC_DEADLINE) return;
    this.timer.setTscDeadline(ticks);
  }

  // ---- CPU side ----

  /** Connects the 8259 pair; its INTR output should drive `lint0`. */
  connectExtInt(source: InterruptSource): void {
    this.extInt = source;
    this.updateOutput();
  }

  hasPendingInterrupt(): boolean {
    if (this.apicActive() && this.prio.deliverable() >= 0) return true;
    return this.extIntOpen() && this.extInt !== null && this.extInt.hasPendingInterrupt();
  }

  acknowledgeInterrupt(): number {
    let vector: number;
    const v = this.apicActive() ? this.prio.deliverable() : -1;
    if (v >= 0) {
      this.prio.dispatch(v);
      vector = v;
    } else if (this.extInt !== null && this.extIntOpen() && (this.extInt.hasPendingInterrupt() || !this.apicActive())) {
      vector = this.extInt.acknowledgeInterrupt();
    } else {
      vector = this.svr & R.SVR_VECTOR;
    }
    this.updateOutput();
    return vector;
  }

  /** Returns and clears the pending NMI (from LINT pins or an NMI IPI). */
  takeNmi(): boolean {
    const n = this.nmiPending;
    this.nmiPending = false;
    return n;
  }

  /** Accepts a fixed interrupt (an IPI, an I/O APIC message or a local source). */
  acceptInterrupt(vector: number, trigger: 'edge' | 'level' = 'edge'): void {
    vector &= 0xff;
    if (!this.apicActive()) {
      this.counters.dropped++;
      return;
    }
    if (vector < 16) {
      this.raiseError(R.ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    this.prio.accept(vector, trigger === 'level');
    this.updateOutput();
  }

  /** Delivers a message routed here by the machine (an IPI or an I/O APIC message). */
  receiveIpi(ipi: Pick<ApicIpi, 'deliveryMode' | 'vector' | 'trigger' | 'level'>): void {
    if (!this.hardwareEnabled()) {
      this.counters.dropped++;
      return;
    }
    switch (ipi.deliveryMode) {
      case 'fixed':
      case 'lowest-priority':
        this.acceptInterrupt(ipi.vector, ipi.trigger);
        return;
      case 'nmi':
        this.raiseNmi();
        return;
      case 'init':
        if (ipi.trigger === 'level' && !ipi.level) return; // INIT level de-assert: arbitration only
        this.resetRegisters();
        this.options.onInit?.();
        return;
      case 'startup':
        this.options.onStartup?.(ipi.vector & 0xff);
        return;
      default:
        this.counters.unsupported++;
    }
  }

  /** Whether an IPI destination (ICR bits 63:56, no shorthand) selects this APIC (SDM 11.6.2). */
  matchesDestination(destination: number, mode: 'physical' | 'logical'): boolean {
    return apicMatchesDestination(this.id, this.ldr, this.dfr, destination, mode);
  }

  // ---- MMIO ----

  read(offset: number, size: AccessSize): number {
    if (!this.hardwareEnabled()) {
      this.counters.badAccess++;
      return 0xffffffff;
    }
    if (size !== 4 || (offset & 0xf) !== 0) {
      this.counters.badAccess++;
      return 0;
    }
    switch (offset) {
      case R.APIC_ID: return (this.id << 24) >>> 0;
      case R.APIC_VERSION: return R.APIC_VERSION_VALUE;
      case R.APIC_TPR: return this.prio.tpr;
      case R.APIC_APR: return this.prio.arbitrationPriority();
      case R.APIC_PPR: return this.prio.processorPriority();
      case R.APIC_EOI: return 0;
      case R.APIC_RRD: return 0;
      case R.APIC_LDR: return this.ldr;
      case R.APIC_DFR: return this.dfr;
      case R.APIC_SVR: return this.svr;
      case R.APIC_ESR: return this.esr;
      case R.APIC_ICR_LOW: return this.icrLow;
      case R.APIC_ICR_HIGH: return this.icrHigh;
      case R.APIC_TIMER_INITIAL_COUNT: return this.timer.initial;
      case R.APIC_TIMER_CURRENT_COUNT:
        this.timer.catchUp();
        return this.timerMode() === R.TIMER_MODE_TSC_DEADLINE ? 0 : this.timer.currentCount();
      case R.APIC_TIMER_DIVIDE_CONFIG: return this.divideConfig;
      default:
        break;
    }
    if (offset >= R.APIC_ISR && offset < R.APIC_ESR) {
      const bank = offset < R.APIC_TMR ? this.prio.isr : offset < R.APIC_IRR ? this.prio.tmr : this.prio.irr;
      return bank[(offset >> 4) & 7];
    }
    if (offset >= R.APIC_LVT_TIMER && offset <= R.APIC_LVT_ERROR) {
      return this.lvt.entries[(offset - R.APIC_LVT_TIMER) >> 4]; // delivery status always idle: delivery is instant
    }
    this.illegalRegister();
    return 0;
  }

  write(offset: number, size: AccessSize, value: number): void {
    if (!this.hardwareEnabled() || size !== 4 || (offset & 0xf) !== 0) {
      this.counters.badAccess++;
      return;
    }
    value >>>= 0;
    switch (offset) {
      case R.APIC_ID: this.id = value >>> 24; return;
      case R.APIC_TPR: this.prio.tpr = value & 0xff; this.updateOutput(); return;
      case R.APIC_EOI: this.eoi(); return;
      case R.APIC_LDR: this.ldr = (value & R.LDR_WRITABLE) >>> 0; return;
      case R.APIC_DFR: this.dfr = ((value & R.DFR_WRITABLE) | ~R.DFR_WRITABLE) >>> 0; return;
      case R.APIC_SVR: this.writeSvr(value); return;
      case R.APIC_ESR: this.esr = this.esrPending; this.esrPending = 0; return;
      case R.APIC_ICR_LOW: this.icrLow = value & R.ICR_LOW_WRITABLE; this.sendIcr(); return;
      case R.APIC_ICR_HIGH: this.icrHigh = (value & R.ICR_HIGH_WRITABLE) >>> 0; return;
      case R.APIC_TIMER_INITIAL_COUNT:
        if (this.timerMode() !== R.TIMER_MODE_TSC_DEADLINE) this.timer.load(value);
        return;
      case R.APIC_TIMER_DIVIDE_CONFIG:
        this.divideConfig = value & R.DIVIDE_CONFIG_WRITABLE;
        this.timer.rebase(R.timerDivisor(this.divideConfig), this.timer.periodic);
        return;
      case R.APIC_VERSION: case R.APIC_APR: case R.APIC_PPR: case R.APIC_RRD: case R.APIC_TIMER_CURRENT_COUNT:
        return; // read-only
      default:
        break;
    }
    if (offset >= R.APIC_ISR && offset < R.APIC_ESR) return; // read-only
    if (offset >= R.APIC_LVT_TIMER && offset <= R.APIC_LVT_ERROR) {
      this.writeLvt((offset - R.APIC_LVT_TIMER) >> 4, value);
      return;
    }
    this.illegalRegister();
  }

  // ---- internals ----

  private hardwareEnabled(): boolean {
    return (this.apicBase & R.APIC_BASE_GLOBAL_ENABLE) !== 0n;
  }

  private softwareEnabled(): boolean {
    return (this.svr & R.SVR_APIC_ENABLED) !== 0;
  }

  /** Hardware- and software-enabled: IRR/ISR dispatch and local sources work. */
  private apicActive(): boolean {
    return this.hardwareEnabled() && this.softwareEnabled();
  }

  /** Whether the 8259's INTR reaches the CPU: APIC off, or LINT0 unmasked in ExtINT mode. */
  private extIntOpen(): boolean {
    return !this.apicActive() || this.lvt.extIntOpen();
  }

  private timerMode(): number {
    return this.lvt.timerMode();
  }

  private updateOutput(): void {
    const level = this.hasPendingInterrupt();
    if (level === this.outputLevel) return;
    this.outputLevel = level;
    this.options.output?.setLevel(level);
  }

  private eoi(): void {
    const r = this.prio.endOfInterrupt();
    if (r >= 0x100) {
      const v = r & 0xff;
      this.options.onLevelEoi?.(v);
      this.lvt.levelEoi(v);
    }
    this.updateOutput();
  }

  private writeSvr(value: number): void {
    this.svr = value & R.SVR_WRITABLE;
    if (!this.softwareEnabled()) this.lvt.maskAll();
    this.updateOutput();
  }

  private writeLvt(index: number, value: number): void {
    const wasDeadline = this.timerMode() === R.TIMER_MODE_TSC_DEADLINE;
    this.lvt.write(index, value, this.softwareEnabled());
    if (index === R.LVT_TIMER) {
      const mode = this.timerMode();
      if (mode === 3) this.counters.unsupported++; // reserved: runs as one-shot
      // Entering or leaving TSC-deadline mode disarms the timer (SDM 11.5.4.1).
      if (wasDeadline !== (mode === R.TIMER_MODE_TSC_DEADLINE)) this.timer.stopCountdown();
      this.timer.rebase(R.timerDivisor(this.divideConfig), mode === R.TIMER_MODE_PERIODIC);
    }
    this.updateOutput();
  }

  /** Collects an error in the ESR and raises the LVT error interrupt for a new one. */
  private raiseError(bit: number): void {
    const isNew = (this.esrPending & bit) === 0;
    this.esrPending |= bit;
    if (isNew) this.lvt.signal(R.LVT_ERROR);
  }

  private illegalRegister(): void {
    this.counters.illegalRegister++;
    this.raiseError(R.ESR_ILLEGAL_REGISTER_ADDRESS);
  }

  private raiseNmi(): void {
    this.nmiPending = true;
    this.options.onNmi?.();
  }

  private timerExpired(): void {
    this.lvt.signal(R.LVT_TIMER);
  }

  private lintInput(lint: 0 | 1, high: boolean): void {
    this.lvt.lintInput(lint, high);
    this.updateOutput();
  }

  private sendIcr(): void {
    const ipi = decodeIcr(this.id, this.icrLow, this.icrHigh);
    if (ipi === null) {
      this.counters.unsupported++;
      return;
    }
    if ((ipi.deliveryMode === 'fixed' || ipi.deliveryMode === 'lowest-priority') && ipi.vector < 16) {
      this.raiseError(R.ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    if (ipi.shorthand === 'self') {
      if (ipi.deliveryMode === 'fixed') this.acceptInterrupt(ipi.vector, ipi.trigger);
      else this.counters.unsupported++; // the self shorthand is defined for fixed IPIs only
      return;
    }
    this.options.sendIpi?.(ipi);
  }

  // ---- snapshot ----

  save(): LocalApicState {
    const t = this.timer.snapshot();
    return {
      version: 1,
      apicBase: Number(this.apicBase),
      id: this.id,
      tpr: this.prio.tpr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      isr: Array.from(this.prio.isr),
      tmr: Array.from(this.prio.tmr),
      irr: Array.from(this.prio.irr),
      esr: this.esr,
      esrPending: this.esrPending,
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      lvt: Array.from(this.lvt.entries),
      divideConfig: this.divideConfig,
      initialCount: this.timer.initial,
      timer: t,
      tscDeadline: this.timer.tscDeadline.toString(),
      lintLevels: [this.lvt.lintLevels[0], this.lvt.lintLevels[1]],
      nmiPending: this.nmiPending,
    };
  }

  restore(state: LocalApicState): void {
    if (state.version !== 1) throw new Error(`${this.persistKey}: unsupported state version ${String(state.version)}`);
    const s = R.localApicStateSchema.parse(state);
    const oldAddress = this.baseAddress();
    this.apicBase = BigInt(s.apicBase);
    this.id = s.id;
    this.prio.tpr = s.tpr;
    this.ldr = s.ldr;
    this.dfr = s.dfr;
    this.svr = s.svr;
    this.prio.isr.set(s.isr);
    this.prio.tmr.set(s.tmr);
    this.prio.irr.set(s.irr);
    this.esr = s.esr;
    this.esrPending = s.esrPending;
    this.icrLow = s.icrLow;
    this.icrHigh = s.icrHigh;
    this.lvt.entries.set(s.lvt);
    this.divideConfig = s.divideConfig;
    this.lvt.lintLevels[0] = s.lintLevels[0];
    this.lvt.lintLevels[1] = s.lintLevels[1];
    this.nmiPending = s.nmiPending;
    const mode = this.timerMode();
    this.timer.restore(s.timer, s.initialCount, R.timerDivisor(s.divideConfig), mode === R.TIMER_MODE_PERIODIC, BigInt(s.tscDeadline));
    if (this.baseAddress() !== oldAddress) this.options.onRelocate?.(this.baseAddress());
    this.updateOutput();
  }
}
