/**
 * QEMU's PCI test device, `-device pci-testdev` (QEMU hw/misc/pci-testdev.c), which
 * kvm-unit-tests uses to time and check MMIO and port writes that a VMM handles without
 * returning to its device model (KVM's ioeventfd). Red Hat's test identity, 1B36:0005, class
 * 00FFh ("other"), revision 0, no interrupt pin; BAR0 is 4 KiB of memory, BAR1 256 ports.
 *
 * Both windows behave the same, byte by byte (wider accesses arrive split into bytes):
 * - a write at offset 0 selects test `value` (0-2) of the window's kind and zeroes its count; a
 *   larger value deselects;
 * - a read returns byte `offset` of the selected test's header: test number (u8), width (u8),
 *   2 pad bytes, the offset to write (u32), the datum to write (u8), 3 pad, the count of
 *   matching writes (u32), then its NUL-terminated name; 0 past it or with no test selected;
 * - a write at the test's offset counts when the test ignores data ("wildcard") or the byte
 *   equals its datum (0xFA; 0xCE for wildcard tests).
 * The six tests, numbered `kind * 3 + test`: mmio-no-eventfd, mmio-wildcard-eventfd,
 * mmio-datamatch-eventfd, portio-...; a test's offset is the window's half-size plus its number
 * (BAR0: 2048 + n, BAR1: 128 + n). Eventfds are a KVM matter; here every test counts in the model.
 */
import { z } from 'zod';
import type { AccessSize } from '../platform/index.js';
import { PciFunction, pciFunctionStateSchema, type PciFunctionState } from './pci-function.js';
import type { PciBarHandler } from './pci-host.js';

export const PCI_VENDOR_ID_REDHAT = 0x1b36;
export const PCI_DEVICE_ID_REDHAT_TEST = 0x0005;
/** BAR0 (memory) and BAR1 (I/O) sizes: twice QEMU's IOTEST_MEMSIZE (2048) and IOTEST_IOSIZE (128). */
export const PCI_TESTDEV_MEM_SIZE = 4096;
export const PCI_TESTDEV_IO_SIZE = 256;
const DATAMATCH = 0xfa;
const NOMATCH = 0xce;
const TEST_NAMES = ['no-eventfd', 'wildcard-eventfd', 'datamatch-eventfd'] as const;
const KINDS = ['mmio', 'portio'] as const;

/** Header byte offsets. */
const HDR_TEST = 0;
const HDR_WIDTH = 1;
const HDR_OFFSET = 4;
const HDR_DATA = 8;
const HDR_COUNT = 12;
const HDR_NAME = 16;

interface IoTest {
  header: Uint8Array;
  offset: number;
  matchData: boolean;
  data: number;
}

export const pciTestdevStateSchema = z.object({
  version: z.literal(1),
  config: pciFunctionStateSchema,
  /** The selected test (kind * 3 + test), or -1. */
  current: z.number().int().min(-1).max(5),
  counts: z.array(z.number().int().min(0).max(0xffffffff)).length(6),
});
export type PciTestdevState = z.infer<typeof pciTestdevStateSchema>;

export class PciTestdev implements PciBarHandler {
  readonly persistKey = 'pci-testdev';
  readonly function = new PciFunction(
    'pci-testdev',
    { vendorId: PCI_VENDOR_ID_REDHAT, deviceId: PCI_DEVICE_ID_REDHAT_TEST, revision: 0, classCode: 0x00ff00 },
    [{ kind: 'mem32', size: PCI_TESTDEV_MEM_SIZE }, { kind: 'io', size: PCI_TESTDEV_IO_SIZE }],
  );
  private readonly tests: IoTest[] = [];
  private current = -1;

  constructor() {
    for (let i = 0; i < KINDS.length * TEST_NAMES.length; i++) {
      const kind = KINDS[Math.floor(i / TEST_NAMES.length)];
      const test = TEST_NAMES[i % TEST_NAMES.length];
      const name = `${kind}-${test}`;
      const header = new Uint8Array(HDR_NAME + name.length + 1);
      const view = new DataView(header.buffer);
      const offset = (kind === 'mmio' ? PCI_TESTDEV_MEM_SIZE : PCI_TESTDEV_IO_SIZE) / 2 + i;
      const matchData = test !== 'wildcard-eventfd';
      const data = matchData ? DATAMATCH : NOMATCH;
      header[HDR_TEST] = i;
      header[HDR_WIDTH] = 1;
      view.setUint32(HDR_OFFSET, offset, true);
      header[HDR_DATA] = data;
      for (let k = 0; k < name.length; k++) header[HDR_NAME + k] = name.charCodeAt(k);
      this.tests.push({ header, offset, matchData, data });
    }
  }

  /** The guest's view of a test's count (for tests and traces). */
  count(test: number): number {
    return new DataView(this.tests[test].header.buffer).getUint32(HDR_COUNT, true);
  }

  reset(): void {
    this.current = -1;
  }

  read(_bar: number, offset: number, _size: AccessSize): number {
    if (this.current < 0) return 0;
    const h = this.tests[this.current].header;
    return offset < h.length ? h[offset] : 0;
  }

  write(bar: number, offset: number, _size: AccessSize, value: number): void {
    const kind = bar === 0 ? 0 : 1;
    if (offset === HDR_TEST) {
      this.current = -1;
      const v = value & 0xff;
      if (v >= TEST_NAMES.length) return;
      this.current = kind * TEST_NAMES.length + v;
      new DataView(this.tests[this.current].header.buffer).setUint32(HDR_COUNT, 0, true);
      return;
    }
    if (this.current < 0) return;
    const t = this.tests[this.current];
    if (offset !== t.offset) return;
    if (t.matchData && (value & 0xff) !== t.data) return;
    const view = new DataView(t.header.buffer);
    view.setUint32(HDR_COUNT, (view.getUint32(HDR_COUNT, true) + 1) >>> 0, true);
  }

  save(): PciTestdevState {
    return { version: 1, config: this.function.save(), current: this.current, counts: this.tests.map((_, i) => this.count(i)) };
  }

  restore(state: PciTestdevState): void {
    const s = pciTestdevStateSchema.parse(state);
    this.function.restore(s.config as PciFunctionState);
    this.current = s.current;
    s.counts.forEach((c, i) => new DataView(this.tests[i].header.buffer).setUint32(HDR_COUNT, c, true));
  }
}
