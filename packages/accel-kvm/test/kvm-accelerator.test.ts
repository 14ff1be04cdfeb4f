/**
 * The KVM accelerator against the real /dev/kvm: tiny real-mode guests, a recording device
 * on port 0x3f8, and checks of what the devices saw and what the accelerator reports.
 * Skipped (with the reason printed) where KVM is unusable, except under CI=true with a
 * /dev/kvm present, where an unusable KVM fails.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSharedRamBacking, GuestMemory, protectedModeEntryState } from '@tsemu/devices/platform';
import { createKvmAccelerator, KvmConfigError, type KvmAccelerator } from '../src/kvm-accelerator.js';
import { KvmCap } from '../src/ioctls.js';
import { Kvm } from '../src/kvm.js';
import { CODE, Recorder, SERIAL, kvmStatus, realModeAt, testMachine, waitFor, type TestMachine } from './kvm-harness.js';

const kvm = kvmStatus();

it('has a usable KVM wherever CI provides /dev/kvm', (ctx) => {
  if (!kvm.mustWork) ctx.skip();
  expect(kvm.reason).toBe('');
  expect(kvm.usable).toBe(true);
});

describe.skipIf(!kvm.usable)('KvmAccelerator on /dev/kvm', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function boot(m: TestMachine, code: number[], irqchip: 'kernel' | 'user' = 'user', at = CODE): Promise<KvmAccelerator> {
    m.memory.writeBytes(at, Uint8Array.from(code));
    const acc = await createKvmAccelerator(m.binding, { irqchip, trace: null });
    cleanups.push(() => m.backing.release());
    cleanups.push(() => acc.destroy());
    await acc.vcpus[0].setState(realModeAt(at));
    acc.start();
    return acc;
  }

  it('runs a real-mode guest whose port writes reach the device, then halts', async () => {
    const m = testMachine();
    const acc = await boot(m, [
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xb0, 0x4b, //       mov al, 'K'
      0xee, //             out dx, al
      0xb0, 0x56, //       mov al, 'V'
      0xee, //             out dx, al
      0xb8, 0x4d, 0x21, // mov ax, 0x214d ('M', '!')
      0xef, //             out dx, ax
      0xec, //             in al, dx
      0xf4, //             hlt
    ]);
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(m.serial.text()).toBe('KV');
    expect(m.serial.writes[2]).toEqual({ offset: 0, size: 2, value: 0x214d });
    expect(m.serial.reads).toEqual([{ offset: 0, size: 1, value: 0x41 }]);
    const state = await acc.vcpus[0].getState();
    expect(state.rip).toBe(BigInt(CODE + 15));
    expect(state.gpr[0] & 0xffn).toBe(0x41n);
    expect(m.events).toEqual([]);
  });

  it('moves REP OUTSB / REP INSB strings through the run page', async () => {
    const m = testMachine();
    m.memory.writeBytes(0x1200, new TextEncoder().encode('hello'));
    const acc = await boot(m, [
      0xfc, //             cld
      0xbe, 0x00, 0x12, // mov si, 0x1200
      0xb9, 0x05, 0x00, // mov cx, 5
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xf3, 0x6e, //       rep outsb
      0xbf, 0x00, 0x13, // mov di, 0x1300
      0xb9, 0x04, 0x00, // mov cx, 4
      0xf3, 0x6c, //       rep insb
      0xf4, //             hlt
    ]);
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(m.serial.text()).toBe('hello');
    expect(new TextDecoder().decode(m.memory.readBytes(0x1300, 4))).toBe('ABCD');
  });

  it('answers MMIO to an unmapped address with all ones and forwards a claimed range', async () => {
    const m = testMachine();
    const window = new Recorder('window');
    window.readValue = 0x55aa1234;
    m.mmio.register(0xa0000, 0x1000, window, [1, 2, 4]);
    const acc = await boot(m, [
      0xb8, 0x00, 0x90, //                               mov ax, 0x9000
      0x8e, 0xd8, //                                     mov ds, ax         ; 0x90000: no RAM, no device
      0x66, 0xc7, 0x06, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, // mov dword [0], 0x12345678
      0x66, 0xa1, 0x00, 0x00, //                         mov eax, [0]
      0xba, 0xf8, 0x03, //                               mov dx, 0x3f8
      0x66, 0xef, //                                     out dx, eax
      0xb8, 0x00, 0xa0, //                               mov ax, 0xa000
      0x8e, 0xd8, //                                     mov ds, ax         ; 0xa0000: the window device
      0x66, 0xc7, 0x06, 0x10, 0x00, 0xef, 0xbe, 0xad, 0xde, // mov dword [0x10], 0xdeadbeef
      0x66, 0xa1, 0x20, 0x00, //                         mov eax, [0x20]
      0x66, 0xef, //                                     out dx, eax
      0xf4, //                                           hlt
    ]);
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(m.serial.writes.map((w) => w.value >>> 0)).toEqual([0xffffffff, 0x55aa1234]);
    expect(window.writes).toEqual([{ offset: 0x10, size: 4, value: 0xdeadbeef }]);
    expect(window.reads).toEqual([{ offset: 0x20, size: 4, value: 0x55aa1234 }]);
    // The unmapped accesses were answered in the vCPU thread, never on the bus.
    expect(m.mmio.counters.unmappedReads + m.mmio.counters.unmappedWrites).toBe(0);
    const rows = acc.stats();
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'MMIO', where: 'unclaimed', count: 2 }));
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'MMIO', where: '0xa0000 window', count: 2 }));
  });

  it('answers unclaimed ports in the vCPU thread and counts them', async () => {
    const m = testMachine();
    const acc = await boot(m, [
      0xb0, 0x01, //       mov al, 1
      0xe6, 0x80, //       out 0x80, al
      0xe6, 0x80, //       out 0x80, al
      0xe6, 0x80, //       out 0x80, al
      0xe4, 0x81, //       in al, 0x81
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xee, //             out dx, al
      0xf4, //             hlt
    ]);
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(m.serial.writes).toEqual([{ offset: 0, size: 1, value: 0xff }]);
    expect(m.pio.counters).toMatchObject({ unmappedReads: 0, unmappedWrites: 0 });
    const rows = acc.stats();
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'IO', where: '0x80 unclaimed', count: 3 }));
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'IO', where: '0x81 unclaimed', count: 1 }));
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'IO', where: '0x3f8 serial', count: 1 }));
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'IO', where: '', count: 5 }));
    expect(rows).toContainEqual(expect.objectContaining({ reason: 'HLT', where: '', count: 1 }));
  });

  it('sees a device registered while the machine runs (the port maps follow the bus)', async () => {
    const m = testMachine();
    const late = new Recorder('late');
    // The guest writes 0x510 (unclaimed), then tells 0x3f8, whose device registers 0x510, then writes 0x510 again.
    m.serial.write = (offset, size, value) => {
      m.serial.writes.push({ offset, size, value });
      if (value === 0x52) m.pio.register(0x510, 1, late);
    };
    const acc = await boot(m, [
      0xba, 0x10, 0x05, // mov dx, 0x510
      0xb0, 0x31, //       mov al, '1'
      0xee, //             out dx, al
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xb0, 0x52, //       mov al, 'R'
      0xee, //             out dx, al
      0xba, 0x10, 0x05, // mov dx, 0x510
      0xb0, 0x32, //       mov al, '2'
      0xee, //             out dx, al
      0xf4, //             hlt
    ]);
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(late.text()).toBe('2');
  });

  for (const irqchip of ['user', 'kernel'] as const) {
    it(`pauses a spinning guest, reads its state, resumes and destroys it (irqchip ${irqchip})`, async () => {
      const m = testMachine();
      const acc = await boot(m, [0xeb, 0xfe], irqchip); // jmp $
      await new Promise((r) => setTimeout(r, 50));
      expect(acc.vcpus[0].runState).toBe('running');
      await acc.pause();
      expect(acc.vcpus[0].runState).toBe('paused');
      const state = await acc.vcpus[0].getState();
      expect(state.rip).toBe(BigInt(CODE));
      expect(state.cs.selector).toBe(0);
      acc.resume();
      await waitFor('running again', () => acc.vcpus[0].runState === 'running');
      // getState on a running vCPU parks it for the moment and lets it go.
      expect((await acc.vcpus[0].getState()).rip).toBe(BigInt(CODE));
      await waitFor('running after getState', () => acc.vcpus[0].runState === 'running');
      await acc.destroy();
      expect(acc.vcpus[0].runState).toBe('stopped');
      await expect(acc.vcpus[0].getState()).rejects.toThrow(/destroyed/);
    });
  }

  it('reports a triple fault as a reset, and runs again after pause/setState/resume', async () => {
    const m = testMachine();
    // Flat protected mode with an empty IDT: #UD finds no gate -> #GP -> #DF -> shutdown.
    // (Real mode is not used here: some KVMs emulate real-mode delivery without the IDT limit check.)
    const state = protectedModeEntryState(CODE);
    state.idt = { base: 0n, limit: 0 };
    m.memory.writeBytes(CODE, Uint8Array.from([0x0f, 0x0b])); // ud2
    m.memory.writeBytes(0x2000, Uint8Array.from([0xba, 0xf8, 0x03, 0xb0, 0x52, 0xee, 0xf4])); // mov dx,0x3f8; mov al,'R'; out; hlt
    const acc = await createKvmAccelerator(m.binding, { irqchip: 'user', trace: null });
    cleanups.push(() => m.backing.release());
    cleanups.push(() => acc.destroy());
    await acc.vcpus[0].setState(state);
    acc.start();
    await waitFor('an event', () => m.events.length > 0);
    expect(m.events).toEqual([{ kind: 'reset', reason: 'triple fault' }]);
    await acc.pause();
    expect(acc.vcpus[0].runState).toBe('paused');
    expect(acc.stats()).toContainEqual(expect.objectContaining({ reason: 'SHUTDOWN', count: 1 }));
    // What the machine does for a reset: pause, new state, resume.
    await acc.vcpus[0].setState(realModeAt(0x2000));
    acc.resume();
    await waitFor('HLT after reset', () => acc.vcpus[0].runState === 'halted');
    expect(m.serial.text()).toBe('R');
  });

  it('restarts an in-kernel-halted vCPU (IF=0) when the machine sets a new state', async () => {
    const m = testMachine();
    m.memory.writeBytes(0x2000, Uint8Array.from([0xba, 0xf8, 0x03, 0xb0, 0x52, 0xee, 0xf4])); // mov dx,0x3f8; mov al,'R'; out; hlt
    const acc = await boot(m, [0xb0, 0x48, 0xba, 0xf8, 0x03, 0xee, 0xfa, 0xf4], 'kernel'); // 'H' to 0x3f8; cli; hlt
    await waitFor('the H', () => m.serial.text() === 'H');
    await acc.pause();
    await acc.vcpus[0].setState(realModeAt(0x2000));
    acc.resume();
    await waitFor('the R after the new state', () => m.serial.text() === 'HR');
  });

  it('maps a read-only slot as ROM: guest writes are dropped, reads see the image', async (ctx) => {
    const m = testMachine([{ gpa: 0, size: 0x80000, offset: 0 }, { gpa: 0xf0000, size: 0x10000, offset: 0x80000 }], 0x90000);
    const k = Kvm.open();
    const readonlyMem = k.checkExtension(KvmCap.KVM_CAP_READONLY_MEM);
    k.close();
    if (readonlyMem <= 0) {
      m.backing.release();
      ctx.skip();
    }
    m.memory.write8(0xf0000, 0x5a);
    m.memory.writeBytes(CODE, Uint8Array.from([
      0xb8, 0x00, 0xf0, // mov ax, 0xf000
      0x8e, 0xd8, //       mov ds, ax
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xc6, 0x06, 0x00, 0x00, 0x99, // mov byte [0], 0x99
      0xa0, 0x00, 0x00, // mov al, [0]
      0xee, //             out dx, al
      0xf4, //             hlt
    ]));
    const acc = await createKvmAccelerator(m.binding, {
      irqchip: 'user', trace: null,
      ramRegions: [{ gpa: 0, size: 0x80000, offset: 0 }, { gpa: 0xf0000, size: 0x10000, offset: 0x80000, readOnly: true }],
    });
    cleanups.push(() => m.backing.release());
    cleanups.push(() => acc.destroy());
    await acc.vcpus[0].setState(realModeAt(CODE));
    acc.start();
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(m.serial.writes).toEqual([{ offset: 0, size: 1, value: 0x5a }]);
    expect(m.memory.read8(0xf0000)).toBe(0x5a);
    expect(acc.stats()).toContainEqual(expect.objectContaining({ reason: 'MMIO', where: 'unclaimed', count: 1 }));
  });

  it('injects an interrupt from the user-space PIC into a guest halted with IF=1', async () => {
    const m = testMachine();
    m.memory.write16(0x20 * 4, 0x1100); // IVT[0x20] = 0000:1100
    m.memory.write16(0x20 * 4 + 2, 0);
    m.memory.writeBytes(0x1100, Uint8Array.from([
      0xb0, 0x49, //       mov al, 'I'
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xee, //             out dx, al
      0xcf, //             iret
    ]));
    const acc = await boot(m, [
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xb0, 0x53, //       mov al, 'S'
      0xee, //             out dx, al
      0xfb, //             sti
      0xf4, //             hlt
      0xb0, 0x44, //       mov al, 'D'
      0xba, 0xf8, 0x03, // mov dx, 0x3f8
      0xee, //             out dx, al
      0xfa, //             cli
      0xf4, //             hlt
    ]);
    await waitFor('the first HLT', () => acc.vcpus[0].runState === 'halted' && m.serial.text() === 'S');
    m.pic.pending.push(0x20);
    acc.notifyInterrupt();
    await waitFor('the second HLT', () => m.serial.text() === 'SID' && acc.vcpus[0].runState === 'halted');
    expect(m.pic.acknowledged).toBe(1);
    expect(acc.stats()).toContainEqual(expect.objectContaining({ reason: 'KVM_INTERRUPT', count: 1 }));
    // IF=0 now: a pending interrupt must not wake the halted vCPU.
    m.pic.pending.push(0x20);
    acc.notifyInterrupt();
    await new Promise((r) => setTimeout(r, 50));
    expect(m.serial.text()).toBe('SID');
    expect(m.pic.acknowledged).toBe(1);
  });

  it('drives in-kernel irqchip lines with KVM_IRQ_LINE', async () => {
    const m = testMachine();
    const acc = await boot(m, [0xf4, 0xeb, 0xfd], 'kernel'); // hlt; jmp back
    expect(acc.kernelIrqLines).not.toBeNull();
    const line = acc.kernelIrqLines!(4);
    line.setLevel(true);
    line.setLevel(false);
    expect(acc.warnings.filter((w) => w.includes('KVM_IRQ_LINE'))).toEqual([]);
  });

  it('refuses a RAM backing without a host address', async () => {
    const backing = createSharedRamBacking(0x10000);
    const m = testMachine();
    cleanups.push(() => m.backing.release());
    const binding = { ...m.binding, memory: new GuestMemory(backing, [{ gpa: 0, size: 0x10000, offset: 0 }]) };
    await expect(createKvmAccelerator(binding, { irqchip: 'user' })).rejects.toThrow(KvmConfigError);
    await expect(createKvmAccelerator(binding, { irqchip: 'user' })).rejects.toThrow(/KVM needs an mmap RAM backing/);
  });

  it('refuses RAM regions that are not page aligned', async () => {
    const m = testMachine([{ gpa: 0, size: 0x800, offset: 0 }]);
    cleanups.push(() => m.backing.release());
    await expect(createKvmAccelerator(m.binding, { irqchip: 'user' })).rejects.toThrow(/page aligned/);
  });

  it('narrates the main-thread ioctl flow through the trace option', async () => {
    const m = testMachine();
    const lines: string[] = [];
    const acc = await createKvmAccelerator(m.binding, { irqchip: 'kernel', trace: (l) => lines.push(l) });
    cleanups.push(() => m.backing.release());
    await acc.vcpus[0].setState(realModeAt(CODE));
    await acc.destroy();
    const text = lines.join('\n');
    expect(text).toMatch(/^open \/dev\/kvm -> fd \d+$/m);
    expect(text).toMatch(/^KVM_GET_API_VERSION -> 12$/m);
    expect(text).toMatch(/^KVM_CREATE_VM -> fd \d+$/m);
    expect(text).toMatch(/^KVM_SET_TSS_ADDR 0xfeffd000$/m);
    expect(text).toMatch(/^KVM_CREATE_IRQCHIP$/m);
    expect(text).toMatch(/^KVM_SET_USER_MEMORY_REGION slot 0 gpa 0x0 size 0x80000 host 0x[0-9a-f]+$/m);
    expect(text).toMatch(/^KVM_CREATE_VCPU 0 -> fd \d+$/m);
    expect(text).toMatch(/^KVM_SET_CPUID2 \(\d+ entries\)$/m);
    expect(text).toMatch(/^KVM_SET_SREGS /m);
    expect(text).toMatch(/^KVM_SET_REGS rip 0x1000/m);
    expect(text.indexOf('KVM_CREATE_IRQCHIP')).toBeLessThan(text.indexOf('KVM_CREATE_VCPU'));
  });

  it('keeps the port-bus contract: a claimed port that is too small is split by the bus', async () => {
    const m = testMachine();
    const byteOnly = new Recorder('byte-only');
    m.pio.register(0x600, 2, byteOnly, [1]);
    const acc = await boot(m, [
      0xba, 0x00, 0x06, // mov dx, 0x600
      0xb8, 0x34, 0x12, // mov ax, 0x1234
      0xef, //             out dx, ax
      0xf4, //             hlt
    ]);
    await waitFor('HLT', () => acc.vcpus[0].runState === 'halted');
    expect(byteOnly.writes).toEqual([{ offset: 0, size: 1, value: 0x34 }, { offset: 1, size: 1, value: 0x12 }]);
    expect(SERIAL).toBe(0x3f8);
  });
});
