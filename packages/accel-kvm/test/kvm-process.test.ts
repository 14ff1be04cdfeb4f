/**
 * The accelerator in a process of its own: the vCPU worker's trace goes to stderr (never
 * stdout), and after destroy() nothing keeps Node alive, so the process ends by itself.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { kvmStatus } from './kvm-harness.js';

const kvm = kvmStatus();
const dist = (p: string): string => new URL(p, import.meta.url).href;

const script = `
import { createKvmAccelerator, createMmapRamBacking } from ${JSON.stringify(dist('../dist/index.js'))};
import { GuestMemory, createPortBus, createMmioBus, realModeSegment, resetCpuState } from ${JSON.stringify(dist('../../devices/dist/platform/index.js'))};
const backing = createMmapRamBacking(0x10000);
const memory = new GuestMemory(backing, [{ gpa: 0, size: 0x10000, offset: 0 }]);
const pio = createPortBus();
pio.register(0x3f8, 8, { name: 'serial', read: () => 0xff, write: () => {} });
const binding = { memory, pio, mmio: createMmioBus(), interrupts: { hasPendingInterrupt: () => false, acknowledgeInterrupt: () => 0 }, onEvent() {} };
memory.writeBytes(0x1000, Uint8Array.from([0xba, 0xf8, 0x03, 0xb0, 0x4b, 0xee, 0xf4]));
const acc = await createKvmAccelerator(binding, { irqchip: 'user', trace: (line) => process.stderr.write('main: ' + line + '\\n') });
const s = resetCpuState(); s.cs = realModeSegment(0, true); s.rip = 0x1000n;
await acc.vcpus[0].setState(s);
acc.start();
while (acc.vcpus[0].runState !== 'halted') await new Promise((r) => setTimeout(r, 5));
await acc.destroy();
backing.release();
console.log('done');
`;

describe.skipIf(!kvm.usable)('the KVM accelerator in its own process', () => {
  it('traces the vCPU thread on stderr and exits by itself after destroy()', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30000 });
    expect(r.error).toBeUndefined();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('done\n');
    const err = r.stderr;
    expect(err).toMatch(/^main: KVM_CREATE_VM -> fd \d+$/m);
    expect(err).toMatch(/^KVM_RUN$/m);
    expect(err).toContain("exit IO out port 0x3f8 size 1 count 1 data 0x4b ('K')");
    expect(err).toMatch(/^exit HLT$/m);
    expect(err).toMatch(/^main: close vm fd \d+$/m);
    // Worker lines come in execution order: the OUT before the HLT.
    expect(err.indexOf('exit IO out')).toBeLessThan(err.indexOf('exit HLT'));
  });
});
