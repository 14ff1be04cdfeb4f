import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createMmioBus, createPortBus, type IoDevice, type MachineEvent } from '@tsemu/devices/platform';
import { cpuidForVcpu, CPUID_1_EDX_APIC, CPUID_1_ECX_X2APIC } from '../src/cpuid-setup.js';
import { openFailureReason } from '../src/errors.js';
import { ExitStats, StatTable, collectRows, foldMmio, MMIO_SLOT_UNCLAIMED } from '../src/exit-stats.js';
import type { IoExit } from '../src/exit-dispatch.js';
import { IoMaps, LayoutWatch, MMIO_UNCLAIMED } from '../src/io-maps.js';
import { Mailbox, MailboxServer, type MailboxHandlers } from '../src/mailbox.js';
import { Command, Status, VcpuControl } from '../src/vcpu-control.js';

const dev = (name: string): IoDevice => ({ name, read: () => 0, write: () => {} });

describe('IoMaps', () => {
  it('knows which ports and MMIO ranges a device claims', () => {
    const pio = createPortBus();
    pio.register(0x3f8, 8, dev('uart'));
    pio.register(0xcf8, 8, dev('pci'));
    const mmio = createMmioBus();
    mmio.register(0xfee00000, 0x1000, dev('apic'));
    const maps = IoMaps.create();
    maps.update(pio.list(), mmio.list());
    expect(maps.portClaimed(0x3f8, 1)).toBe(true);
    expect(maps.portClaimed(0x3ff, 1)).toBe(true);
    expect(maps.portClaimed(0x400, 1)).toBe(false);
    expect(maps.portClaimed(0x80, 1)).toBe(false);
    // A wide access that touches a claimed byte goes to the bus, which splits it.
    expect(maps.portClaimed(0xcf6, 4)).toBe(true);
    expect(maps.findMmio(0xfee00020, 4)).toBe(0);
    expect(maps.findMmio(0xfedffffe, 4)).toBe(0);
    expect(maps.findMmio(0xd0000000, 4)).toBe(MMIO_UNCLAIMED);
  });

  it('is readable from the buffer alone, as a worker sees it', () => {
    const pio = createPortBus();
    pio.register(0x60, 1, dev('kbd'));
    const maps = IoMaps.create();
    maps.update(pio.list(), []);
    const other = new IoMaps(maps.buffer);
    expect(other.portClaimed(0x60, 1)).toBe(true);
    expect(other.portClaimed(0x61, 1)).toBe(false);
    maps.update([], []);
    expect(other.portClaimed(0x60, 1)).toBe(false);
  });

  it('notices a bus layout change (register or unregister)', () => {
    const pio = createPortBus();
    const watch = new LayoutWatch();
    expect(watch.changed(pio.list())).toBe(true);
    expect(watch.changed(pio.list())).toBe(false);
    const d = dev('x');
    pio.register(0x100, 4, d);
    expect(watch.changed(pio.list())).toBe(true);
    pio.unregister(d);
    expect(watch.changed(pio.list())).toBe(true);
    expect(watch.changed(pio.list())).toBe(false);
  });
});

describe('ExitStats', () => {
  it('reports counts by reason, by device range and by unclaimed port', () => {
    const pio = createPortBus();
    pio.register(0x3f8, 8, dev('uart-16550'));
    const mmio = createMmioBus();
    mmio.register(0xfed00000, 0x400, dev('hpet'));
    const stats = ExitStats.create();
    stats.reason(2, 100);
    stats.port(0x3f8, 60);
    stats.reason(2, 100);
    stats.port(0x3fd, 40);
    stats.reason(2, 50);
    stats.port(0x80, 50);
    stats.reason(6, 30);
    stats.mmio(0, 30);
    stats.mmio(MMIO_SLOT_UNCLAIMED, 5);
    const table = new StatTable();
    collectRows(stats, pio.list(), mmio.list(), table);
    const rows = table.list();
    expect(rows).toContainEqual({ reason: 'IO', where: '', count: 3, timeNs: 250 });
    expect(rows).toContainEqual({ reason: 'IO', where: '0x3f8 uart-16550', count: 2, timeNs: 100 });
    expect(rows).toContainEqual({ reason: 'IO', where: '0x80 unclaimed', count: 1, timeNs: 50 });
    expect(rows).toContainEqual({ reason: 'MMIO', where: '0xfed00000 hpet', count: 1, timeNs: 30 });
    expect(rows).toContainEqual({ reason: 'MMIO', where: 'unclaimed', count: 1, timeNs: 5 });
  });

  it('keeps MMIO counts across a layout change once folded', () => {
    const mmio = createMmioBus();
    mmio.register(0xfed00000, 0x400, dev('hpet'));
    const stats = ExitStats.create();
    stats.mmio(0, 10);
    const history = new StatTable();
    foldMmio(stats, mmio.list(), history);
    stats.clearMmioRanges();
    expect(stats.mmioSlot(0).count).toBe(0);
    expect(history.list()).toEqual([{ reason: 'MMIO', where: '0xfed00000 hpet', count: 1, timeNs: 10 }]);
  });
});

describe('cpuidForVcpu', () => {
  const supported = [
    { function: 1, index: 0, flags: 0, eax: 0x806c1, ebx: 0xff010800, ecx: CPUID_1_ECX_X2APIC | 1, edx: CPUID_1_EDX_APIC | 1 },
    { function: 0xb, index: 0, flags: 1, eax: 1, ebx: 2, ecx: 0x100, edx: 7 },
    { function: 0xb, index: 1, flags: 1, eax: 4, ebx: 2, ecx: 0x201, edx: 7 },
    { function: 0xd, index: 0, flags: 1, eax: 7, ebx: 0, ecx: 0, edx: 0 },
  ];

  it('sets the APIC IDs to the vCPU index and leaves the rest', () => {
    const out = cpuidForVcpu(supported, 2, 'kernel');
    expect(out[0].ebx >>> 24).toBe(2);
    expect(out[0].ebx & 0xffffff).toBe(0x010800);
    expect(out[0].edx & CPUID_1_EDX_APIC).toBe(CPUID_1_EDX_APIC);
    expect(out[1].edx).toBe(2);
    expect(out[2].edx).toBe(2);
    expect(out[3]).toEqual(supported[3]);
    expect(supported[1].edx).toBe(7);
  });

  it('hides the local APIC when the irqchip is in user space', () => {
    const out = cpuidForVcpu(supported, 0, 'user');
    expect(out[0].edx).toBe(1);
    expect(out[0].ecx).toBe(1);
  });

  it("keeps the APIC bit for the machine's user-space local APIC, without x2APIC", () => {
    const out = cpuidForVcpu(supported, 0, 'user', true);
    expect(out[0].edx).toBe(CPUID_1_EDX_APIC | 1);
    expect(out[0].ecx).toBe(1);
  });
});

describe('openFailureReason', () => {
  it('says what to do for each way opening /dev/kvm fails', () => {
    expect(openFailureReason(2, 'x')).toBe('/dev/kvm does not exist (no KVM on this host)');
    expect(openFailureReason(13, 'x')).toBe('permission denied opening /dev/kvm (add yourself to the kvm group)');
    expect(openFailureReason(16, 'x')).toMatch(/busy/);
    expect(openFailureReason(5, 'Input/output error')).toBe('cannot open /dev/kvm: Input/output error');
  });
});

describe('VcpuControl', () => {
  it('only pauses a running vCPU and only resumes a paused one', () => {
    const c = VcpuControl.create();
    expect(c.status).toBe(Status.STARTING);
    expect(c.requestPause()).toBe(false);
    c.setCommand(Command.RUN);
    expect(c.requestPause()).toBe(true);
    expect(c.command).toBe(Command.PAUSE);
    expect(c.resumeIfPaused()).toBe(true);
    c.setCommand(Command.STOP);
    expect(c.resumeIfPaused()).toBe(false);
    expect(c.command).toBe(Command.STOP);
  });

  it('resolves a status wait when another thread sets the status', async () => {
    const c = VcpuControl.create();
    const seen = c.waitForStatus((s) => s === Status.PARKED);
    c.setStatus(Status.RUNNING);
    c.setStatus(Status.PARKED);
    await expect(seen).resolves.toBe(Status.PARKED);
  });
});

// The worker side of the mailbox blocks in Atomics.wait, so it runs in a real worker
// thread here; it loads the built module (the vCPU worker does the same).
describe('Mailbox', () => {
  it('carries port, MMIO, INTA and event requests from a worker to the main thread and back', async () => {
    const box = Mailbox.create();
    const served: string[] = [];
    const events: MachineEvent[] = [];
    let afterServe = 0;
    const handlers: MailboxHandlers = {
      pio: (exit: IoExit) => {
        served.push(`${exit.direction} ${exit.port.toString(16)} x${exit.count} [${[...exit.data]}]`);
        if (exit.direction === 'in') exit.data.fill(0x42);
      },
      mmio: (exit) => {
        served.push(`mmio ${exit.direction} ${exit.address.toString(16)} [${[...exit.data]}]`);
        if (exit.direction === 'read') exit.data.set([1, 2, 3, 4]);
      },
      inta: () => 0x20,
      event: (e) => events.push(e),
      afterServe: () => void afterServe++,
      error: (e) => {
        throw e;
      },
    };
    const server = new MailboxServer(box, handlers);
    const loop = server.run();
    const mailboxUrl = new URL('../dist/mailbox.js', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(${JSON.stringify(mailboxUrl)}).then(({ Mailbox }) => {
        const box = new Mailbox(workerData, 20);
        const out = { kind: 'io', direction: 'out', port: 0x3f8, size: 1, count: 3, data: Uint8Array.from([104, 105, 33]) };
        box.pio(out);
        const inn = { kind: 'io', direction: 'in', port: 0x60, size: 2, count: 2, data: new Uint8Array(4) };
        box.pio(inn);
        const rd = { kind: 'mmio', direction: 'read', address: 0xfee00020, data: new Uint8Array(4) };
        box.mmio(rd);
        const vector = box.inta();
        box.event({ kind: 'reset', reason: 'triple fault' });
        parentPort.postMessage({ inn: [...inn.data], rd: [...rd.data], vector });
      });`;
    const worker = new Worker(code, { eval: true, workerData: box.buffer });
    const result = await new Promise<{ inn: number[]; rd: number[]; vector: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    server.stop();
    await loop;
    expect(served).toEqual(['out 3f8 x3 [104,105,33]', 'in 60 x2 [255,255,255,255]', 'mmio read fee00020 [255,255,255,255]']);
    expect(result).toEqual({ inn: [0x42, 0x42, 0x42, 0x42], rd: [1, 2, 3, 4], vector: 0x20 });
    expect(events).toEqual([{ kind: 'reset', reason: 'triple fault' }]);
    expect(afterServe).toBe(4);
  });
});
