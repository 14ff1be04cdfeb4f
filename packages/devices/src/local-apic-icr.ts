/**
 * Interprocessor interrupts: decoding the interrupt command register and matching a
 * destination against an APIC's IDs (SDM Vol. 3A 11.6.1 "Interrupt Command Register",
 * 11.6.2 "Determining IPI Destination").
 *
 * - Physical mode: the destination is an APIC ID; 0xFF is a broadcast.
 * - Logical mode, flat model (DFR[31:28] = 1111b): the 8-bit destination is ANDed with
 *   the LDR's logical ID. Cluster model (0000b): the high nibbles must be equal (or the
 *   destination's be 0xF, all clusters) and the low nibbles share a bit.
 */
import {
  DELIVERY_MODE_NAMES, ICR_DEST_LOGICAL, ICR_LEVEL_ASSERT, ICR_SHORTHAND_SHIFT, ICR_TRIGGER_LEVEL, ICR_VECTOR,
  SHORTHAND_NAMES, type ApicDeliveryMode, type ApicShorthand,
} from './local-apic-registers.js';

/** An interprocessor interrupt as written to the ICR (SDM figure 11-12). */
export interface ApicIpi {
  /** APIC ID of the sender. */
  source: number;
  /** ICR bits 63:56 (ignored with a shorthand). */
  destination: number;
  destinationMode: 'physical' | 'logical';
  deliveryMode: ApicDeliveryMode;
  vector: number;
  /** Level bit: false only for the INIT level de-assert message. */
  level: boolean;
  trigger: 'edge' | 'level';
  shorthand: ApicShorthand;
}

/** Decodes ICR high:low; null for the reserved delivery mode 011b. */
export function decodeIcr(source: number, low: number, high: number): ApicIpi | null {
  const deliveryMode = DELIVERY_MODE_NAMES[(low >> 8) & 7];
  if (deliveryMode === null) return null;
  return {
    source,
    destination: high >>> 24,
    destinationMode: (low & ICR_DEST_LOGICAL) !== 0 ? 'logical' : 'physical',
    deliveryMode,
    vector: low & ICR_VECTOR,
    level: (low & ICR_LEVEL_ASSERT) !== 0,
    trigger: (low & ICR_TRIGGER_LEVEL) !== 0 ? 'level' : 'edge',
    shorthand: SHORTHAND_NAMES[(low >> ICR_SHORTHAND_SHIFT) & 3],
  };
}

/** Whether `destination` in `mode` selects the APIC with these ID, LDR and DFR values. */
export function apicMatchesDestination(id: number, ldr: number, dfr: number, destination: number, mode: 'physical' | 'logical'): boolean {
  destination &= 0xff;
  if (mode === 'physical') return destination === 0xff || destination === id;
  const logicalId = ldr >>> 24;
  if (dfr >>> 28 === 0xf) return (logicalId & destination) !== 0;
  const sameCluster = destination >>> 4 === 0xf || destination >>> 4 === logicalId >>> 4;
  return sameCluster && (destination & logicalId & 0xf) !== 0;
}
