/**
 * A PCI bus 0 behind an i440FX-style host bridge, reached through configuration mechanism #1
 * (PCI Local Bus Specification 3.0, 3.2.2.3.2): a 32-bit CONFIG_ADDRESS at 0xCF8 (bit 31
 * enable, bus 23:16, device 15:11, function 10:8, register 7:2) and CONFIG_DATA at 0xCFC-0xCFF,
 * where the low two address bits select the byte lanes. Only dword accesses at 0xCF8 reach
 * CONFIG_ADDRESS (byte accesses there belong to other chipset registers: 0xCF9 is the PIIX reset
 * control register, which this window passes on). A configuration read of a function that is not
 * there, or of another bus, returns all ones, which is how software finds empty slots.
 *
 * The host bridge itself is function 00:00.0 with the 82441FX identity (Intel 8086:1237, class
 * 060000h), as on QEMU's `pc` machine. Functions report BAR changes and the host maps their
 * windows on the machine's port and memory buses.
 */
import { z } from 'zod';
import type { AccessSize, IoBus, IoDevice } from '../platform/index.js';
import { PciFunction, type PciBarMapping } from './pci-function.js';

export const PCI_CONFIG_ADDRESS_PORT = 0xcf8;
export const PCI_CONFIG_DATA_PORT = 0xcfc;
const CONFIG_ENABLE = 0x80000000;

export const pciHostStateSchema = z.object({
  version: z.literal(1),
  configAddress: z.number().int().min(0).max(0xffffffff),
});
export type PciHostState = z.infer<typeof pciHostStateSchema>;

/** A function's BAR windows: what the bus calls when the guest touches a BAR. */
export interface PciBarHandler {
  read(bar: number, offset: number, size: AccessSize): number;
  write(bar: number, offset: number, size: AccessSize, value: number): void;
}

export interface PciHostOptions {
  /** Where BAR windows are mapped. */
  pio: IoBus;
  mmio: IoBus;
  /** The byte register at 0xCF9 sharing the CONFIG_ADDRESS dword (the reset control), if any. */
  port0cf9?: IoDevice | null;
}

export interface PciHostCounters {
  /** Configuration accesses to an absent function or another bus. */
  absent: number;
  /** BAR windows that could not be mapped (they overlapped another device). */
  mapConflicts: number;
}

export class PciHost {
  readonly hostBridge = new PciFunction('i440fx-host', { vendorId: 0x8086, deviceId: 0x1237, revision: 2, classCode: 0x060000 });
  readonly counters: PciHostCounters = { absent: 0, mapConflicts: 0 };
  readonly persistKey = 'pci-host';
  /** Register at 0xCF8, size 4, access sizes [1, 2, 4]. */
  readonly addressPort: IoDevice;
  /** Register at 0xCFC, size 4, access sizes [1, 2, 4]. */
  readonly dataPort: IoDevice;

  private configAddress = 0;
  /** Functions by device/function number (device << 3 | function), bus 0 only. */
  private readonly functions = new Map<number, PciFunction>();
  /** The windows mapped for each function's BARs, to unmap them on change. */
  private readonly windows = new Map<PciFunction, IoDevice[]>();

  constructor(private readonly options: PciHostOptions) {
    this.attach(0, 0, this.hostBridge, null);
    const port0cf9 = options.port0cf9 ?? null;
    this.addressPort = {
      name: 'pci-config-address',
      read: (offset, size) => {
        if (offset === 0 && size === 4) return this.configAddress;
        if (offset === 1 && size === 1 && port0cf9) return port0cf9.read(0, 1);
        return 0xffffffff;
      },
      write: (offset, size, value) => {
        if (offset === 0 && size === 4) this.configAddress = (value & 0x80fffffc) >>> 0;
        else if (offset === 1 && size === 1 && port0cf9) port0cf9.write(0, 1, value);
      },
    };
    this.dataPort = {
      name: 'pci-config-data',
      read: (offset, size) => {
        const f = this.selected();
        return f === null ? 0xffffffff : f.read((this.configAddress & 0xfc) + offset, size);
      },
      write: (offset, size, value) => this.selected()?.write((this.configAddress & 0xfc) + offset, size, value),
    };
  }

  /** Puts `fn` at 00:device.function; `bars` handles its BAR windows. */
  attach(device: number, func: number, fn: PciFunction, bars: PciBarHandler | null): void {
    const devfn = (device << 3) | func;
    if (device > 31 || func > 7 || this.functions.has(devfn)) throw new RangeError(`PCI slot 00:${device}.${func} is taken or invalid`);
    this.functions.set(devfn, fn);
    fn.onMapChange = (mappings) => this.remap(fn, mappings, bars);
  }

  private selected(): PciFunction | null {
    const a = this.configAddress;
    const f = (a & CONFIG_ENABLE) !== 0 && ((a >>> 16) & 0xff) === 0 ? this.functions.get((a >>> 8) & 0xff) : undefined;
    if (f === undefined) {
      this.counters.absent++;
      return null;
    }
    return f;
  }

  private remap(fn: PciFunction, mappings: readonly PciBarMapping[], bars: PciBarHandler | null): void {
    for (const w of this.windows.get(fn) ?? []) {
      this.options.pio.unregister(w);
      this.options.mmio.unregister(w);
    }
    const mapped: IoDevice[] = [];
    if (bars !== null) {
      for (const m of mappings) {
        if (m === null) continue;
        const bar = m.index;
        const window: IoDevice = {
          name: `${fn.name}-bar${bar}`,
          read: (offset, size) => bars.read(bar, offset, size),
          write: (offset, size, value) => bars.write(bar, offset, size, value),
        };
        try {
          (m.kind === 'io' ? this.options.pio : this.options.mmio).register(m.base, m.size, window, [1]);
          mapped.push(window);
        } catch {
          this.counters.mapConflicts++;
        }
      }
    }
    this.windows.set(fn, mapped);
  }

  save(): PciHostState {
    return { version: 1, configAddress: this.configAddress };
  }

  restore(state: PciHostState): void {
    this.configAddress = pciHostStateSchema.parse(state).configAddress;
  }
}
