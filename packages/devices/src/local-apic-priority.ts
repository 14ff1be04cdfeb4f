/**
 * The local APIC's interrupt bookkeeping: IRR, ISR, TMR and the task priority, and
 * the priority rules that decide what is dispatched (SDM Vol. 3A 11.8.3 "Interrupt,
 * Task, and Processor Priority", 11.8.4 "Interrupt Acceptance for Fixed Interrupts",
 * 11.8.5 "Signaling Interrupt Servicing Completion").
 *
 * - A vector's priority class is vector[7:4]. PPR = TPR when TPR[7:4] >= ISRV[7:4],
 *   else ISRV[7:4] << 4 (ISRV: highest vector in service). The highest IRR vector is
 *   dispatched only when its class is above the PPR class.
 * - APR uses the P6 definition (SDM figure 11-15); later processors keep the register
 *   but do not arbitrate with it.
 * - TMR records the trigger mode of the last acceptance of each vector (set for level,
 *   cleared for edge); an EOI of a vector with its TMR bit set is broadcast.
 */
import { highestVector } from './local-apic-registers.js';

export class ApicPriority {
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  readonly irr = new Uint32Array(8);
  /** Task priority register, bits 7:0. */
  tpr = 0;

  reset(): void {
    this.isr.fill(0);
    this.tmr.fill(0);
    this.irr.fill(0);
    this.tpr = 0;
  }

  /** Latches a (legal, >= 16) vector in IRR with its trigger mode in TMR. */
  accept(vector: number, level: boolean): void {
    const word = vector >>> 5;
    const bit = 1 << (vector & 31);
    this.irr[word] |= bit;
    if (level) this.tmr[word] |= bit;
    else this.tmr[word] &= ~bit;
  }

  processorPriority(): number {
    const isrv = highestVector(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  arbitrationPriority(): number {
    const isrClass = Math.max(highestVector(this.isr), 0) & 0xf0;
    const irrClass = Math.max(highestVector(this.irr), 0) & 0xf0;
    const tprClass = this.tpr & 0xf0;
    if (tprClass >= irrClass && tprClass > isrClass) return this.tpr;
    return Math.max(tprClass, isrClass, irrClass);
  }

  /** The highest IRR vector whose class is above the PPR class, or -1. */
  deliverable(): number {
    const irrv = highestVector(this.irr);
    if (irrv < 0) return -1;
    return (irrv & 0xf0) > (this.processorPriority() & 0xf0) ? irrv : -1;
  }

  /** INTA: moves `vector` from IRR to ISR. */
  dispatch(vector: number): void {
    this.irr[vector >>> 5] &= ~(1 << (vector & 31));
    this.isr[vector >>> 5] |= 1 << (vector & 31);
  }

  /**
   * EOI: clears the highest in-service vector. Returns it, plus 0x100 when its TMR bit
   * says it was level-triggered; -1 when nothing was in service.
   */
  endOfInterrupt(): number {
    const v = highestVector(this.isr);
    if (v < 0) return -1;
    const word = v >>> 5;
    const bit = 1 << (v & 31);
    this.isr[word] &= ~bit;
    return (this.tmr[word] & bit) !== 0 ? v | 0x100 : v;
  }
}
