import { describe, expect, it } from 'vitest';
import { createMmioBus, createPortBus, type AccessSize, type IoDevice } from '@tsemu/devices/platform';
import { decodeExit, serveExit, type ExitHandler, type IoExit, type MmioExit } from '../src/exit-dispatch.js';
import { describeExit } from '../src/exit-trace.js';
import { KvmExit, KvmRun } from '../src/structs/kvm-run.js';

const PIO_DATA = 4096;

/** A made-up kvm_run mapping (3 pages, as KVM_GET_VCPU_MMAP_SIZE reports). */
function page(reason: number): { run: KvmRun; dv: DataView; bytes: Uint8Array } {
  const bytes = new Uint8Array(12288);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(8, reason, true);
  return { run: new KvmRun(bytes), dv, bytes };
}

function ioPage(direction: 'in' | 'out', port: number, size: number, count: number, data: number[] = []) {
  const p = page(KvmExit.KVM_EXIT_IO);
  p.bytes[32] = direction === 'out' ? 1 : 0;
  p.bytes[33] = size;
  p.dv.setUint16(34, port, true);
  p.dv.setUint32(36, count, true);
  p.dv.setBigUint64(40, BigInt(PIO_DATA), true);
  p.bytes.set(data, PIO_DATA);
  return p;
}

function mmioPage(isWrite: boolean, address: number, len: number, data: number[] = []) {
  const p = page(KvmExit.KVM_EXIT_MMIO);
  p.dv.setBigUint64(32, BigInt(address), true);
  p.bytes.set(data, 40);
  p.dv.setUint32(48, len, true);
  p.bytes[52] = isWrite ? 1 : 0;
  return p;
}

interface Access { offset: number; size: AccessSize; value?: number }

/** A handler over real buses with recording devices at port 0x3f8 and MMIO 0xd0000000. */
function handler(readValue = 0): { handler: ExitHandler; writes: Access[]; reads: Access[] } {
  const writes: Access[] = [];
  const reads: Access[] = [];
  let next = readValue;
  const dev: IoDevice = {
    name: 'rec',
    read: (offset, size) => (reads.push({ offset, size }), next++),
    write: (offset, size, value) => void writes.push({ offset, size, value }),
  };
  const pio = createPortBus();
  pio.register(0x3f8, 8, dev, [1, 2, 4]);
  const mmio = createMmioBus();
  mmio.register(0xd0000000, 0x1000, dev, [1, 2, 4]);
  return { handler: { pio, mmio, describeCpu: () => 'RIP=0x1234 CS=0x8' }, writes, reads };
}

describe('decodeExit + serveExit: port I/O', () => {
  it('serves an OUT of one byte', () => {
    const { run } = ioPage('out', 0x3f8, 1, 1, [0x68]);
    const exit = decodeExit(run);
    expect(exit).toMatchObject({ kind: 'io', direction: 'out', port: 0x3f8, size: 1, count: 1 });
    const h = handler();
    expect(serveExit(exit, h.handler)).toEqual({ kind: 'continue' });
    expect(h.writes).toEqual([{ offset: 0, size: 1, value: 0x68 }]);
    expect(describeExit(exit)).toBe("exit IO out port 0x3f8 size 1 count 1 data 0x68 ('h')");
  });

  it('serves REP OUTSB/OUTSW/OUTSD as count accesses in order', () => {
    for (const [size, data, values] of [
      [1, [0x68, 0x69, 0x21], [0x68, 0x69, 0x21]],
      [2, [0x34, 0x12, 0x78, 0x56], [0x1234, 0x5678]],
      [4, [0x78, 0x56, 0x34, 0x12, 0xef, 0xbe, 0xad, 0xde], [0x12345678, 0xdeadbeef]],
    ] as const) {
      const h = handler();
      const exit = decodeExit(ioPage('out', 0x3f9, size, values.length, [...data]).run);
      serveExit(exit, h.handler);
      expect(h.writes).toEqual(values.map((value) => ({ offset: 1, size, value })));
    }
  });

  it('writes IN results back into the run page, little-endian', () => {
    const { run, bytes } = ioPage('in', 0x3f8, 2, 3);
    const h = handler(0xa1b2);
    const exit = decodeExit(run);
    serveExit(exit, h.handler);
    expect([...bytes.subarray(PIO_DATA, PIO_DATA + 6)]).toEqual([0xb2, 0xa1, 0xb3, 0xa1, 0xb4, 0xa1]);
    expect(describeExit(exit)).toBe('exit IO in port 0x3f8 size 2 count 3 -> 0xa1b2 0xa1b3 0xa1b4');
  });

  it('answers a read of a port nobody claims with all ones', () => {
    const { run, bytes } = ioPage('in', 0x80, 4, 1);
    serveExit(decodeExit(run), handler().handler);
    expect([...bytes.subarray(PIO_DATA, PIO_DATA + 4)]).toEqual([0xff, 0xff, 0xff, 0xff]);
  });

  it('decodes an IO exit with an impossible size as unknown', () => {
    expect(decodeExit(ioPage('out', 0x3f8, 3, 1).run).kind).toBe('unknown');
  });
});

describe('decodeExit + serveExit: MMIO', () => {
  for (const len of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`serves a ${len}-byte MMIO write as little-endian accesses`, () => {
      const data = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88].slice(0, len);
      const h = handler();
      const exit = decodeExit(mmioPage(true, 0xd0000010, len, data).run) as MmioExit;
      expect(exit).toMatchObject({ kind: 'mmio', direction: 'write', address: 0xd0000010 });
      expect(exit.data.length).toBe(len);
      serveExit(exit, h.handler);
      const written: number[] = [];
      for (const w of h.writes) for (let b = 0; b < w.size; b++) written[w.offset - 0x10 + b] = (w.value! >>> (8 * b)) & 0xff;
      expect(written).toEqual(data);
    });

    it(`serves a ${len}-byte MMIO read into the run page`, () => {
      const { run, bytes } = mmioPage(false, 0xd0000000, len);
      const h = handler(0x04030201);
      serveExit(decodeExit(run), h.handler);
      // Widest accesses first: 4, then 2, then 1 (IoBus.readInto); values count up per access.
      const got = [...bytes.subarray(40, 40 + len)];
      expect(got.length).toBe(len);
      expect(got[0]).toBe(0x01);
      expect(h.reads.reduce((n, r) => n + r.size, 0)).toBe(len);
    });
  }

  it('reads all ones from an MMIO address no device claims', () => {
    const { run, bytes } = mmioPage(false, 0xe0000000, 4);
    const exit = decodeExit(run);
    serveExit(exit, handler().handler);
    expect([...bytes.subarray(40, 44)]).toEqual([0xff, 0xff, 0xff, 0xff]);
    expect(describeExit(exit)).toBe('exit MMIO read 0xe0000000 len 4 -> 0xffffffff');
  });

  it('decodes an MMIO exit above 4 GiB exactly', () => {
    const exit = decodeExit(mmioPage(true, 0xfd_0000_1000, 8, [1, 2, 3, 4, 5, 6, 7, 8]).run);
    expect(exit).toMatchObject({ kind: 'mmio', address: 0xfd_0000_1000 });
    expect(describeExit(exit)).toBe('exit MMIO write 0xfd00001000 len 8 data 0x807060504030201');
  });
});

describe('decodeExit + serveExit: the other exits', () => {
  const h = handler().handler;

  it('turns HLT into a halt-wait', () => {
    const exit = decodeExit(page(KvmExit.KVM_EXIT_HLT).run);
    expect(exit).toEqual({ kind: 'hlt' });
    expect(serveExit(exit, h)).toEqual({ kind: 'halt' });
  });

  it('turns a triple fault (SHUTDOWN) into a reset event', () => {
    expect(serveExit(decodeExit(page(KvmExit.KVM_EXIT_SHUTDOWN).run), h)).toEqual({ kind: 'stop', event: { kind: 'reset', reason: 'triple fault' } });
  });

  it('turns FAIL_ENTRY into a fatal event with the reason and registers', () => {
    const p = page(KvmExit.KVM_EXIT_FAIL_ENTRY);
    p.dv.setBigUint64(32, 0x80000021n, true);
    p.dv.setUint32(40, 3, true);
    const exit = decodeExit(p.run);
    expect(exit).toEqual({ kind: 'fail-entry', hardwareEntryFailureReason: 0x80000021n, cpu: 3 });
    const action = serveExit(exit, h);
    expect(action.kind).toBe('stop');
    if (action.kind !== 'stop' || action.event.kind !== 'fatal') throw new Error('expected a fatal event');
    expect(action.event.message).toContain('0x80000021');
    expect(action.event.message).toContain('RIP=0x1234 CS=0x8');
  });

  it('turns INTERNAL_ERROR into a fatal event with the suberror and data', () => {
    const p = page(KvmExit.KVM_EXIT_INTERNAL_ERROR);
    p.dv.setUint32(32, 1, true);
    p.dv.setUint32(36, 2, true);
    p.dv.setBigUint64(40, 0xaan, true);
    p.dv.setBigUint64(48, 0xbbn, true);
    const exit = decodeExit(p.run);
    expect(exit).toEqual({ kind: 'internal-error', suberror: 1, data: [0xaan, 0xbbn] });
    const action = serveExit(exit, h);
    if (action.kind !== 'stop' || action.event.kind !== 'fatal') throw new Error('expected a fatal event');
    expect(action.event.message).toMatch(/suberror 1 \(emulation failure\) data \[0xaa 0xbb\]/);
  });

  it('maps SYSTEM_EVENT reset, shutdown and crash to machine events', () => {
    const event = (type: number) => {
      const p = page(KvmExit.KVM_EXIT_SYSTEM_EVENT);
      p.dv.setUint32(32, type, true);
      const action = serveExit(decodeExit(p.run), h);
      if (action.kind !== 'stop') throw new Error('expected stop');
      return action.event;
    };
    expect(event(2)).toMatchObject({ kind: 'reset' });
    expect(event(1)).toMatchObject({ kind: 'exit', status: 0 });
    expect(event(3)).toMatchObject({ kind: 'fatal' });
    expect(event(9)).toMatchObject({ kind: 'fatal' });
  });

  it('continues after IRQ_WINDOW_OPEN and INTR', () => {
    expect(decodeExit(page(KvmExit.KVM_EXIT_IRQ_WINDOW_OPEN).run)).toEqual({ kind: 'irq-window-open' });
    expect(serveExit(decodeExit(page(KvmExit.KVM_EXIT_IRQ_WINDOW_OPEN).run), h)).toEqual({ kind: 'continue' });
    expect(serveExit(decodeExit(page(KvmExit.KVM_EXIT_INTR).run), h)).toEqual({ kind: 'continue' });
  });

  it('treats an exit it does not handle as fatal, naming it', () => {
    const p = page(KvmExit.KVM_EXIT_UNKNOWN);
    p.dv.setBigUint64(32, 0x30n, true);
    const unknown = serveExit(decodeExit(p.run), h);
    if (unknown.kind !== 'stop' || unknown.event.kind !== 'fatal') throw new Error('expected fatal');
    expect(unknown.event.message).toContain('KVM_EXIT_UNKNOWN');
    expect(unknown.event.message).toContain('hardware exit reason 0x30');
    const debug = serveExit(decodeExit(page(KvmExit.KVM_EXIT_DEBUG).run), h);
    if (debug.kind !== 'stop' || debug.event.kind !== 'fatal') throw new Error('expected fatal');
    expect(debug.event.message).toContain('KVM_EXIT_DEBUG');
  });
});

describe('describeExit', () => {
  it('escapes non-printable bytes and shortens long REP transfers', () => {
    const exit = decodeExit(ioPage('out', 0x3f8, 1, 10, [0x48, 0x0a, 0x27, 1, 2, 3, 4, 5, 6, 7]).run) as IoExit;
    expect(describeExit(exit)).toBe("exit IO out port 0x3f8 size 1 count 10 data 0x48 0xa 0x27 0x1 0x2 0x3 0x4 0x5 ... ('H\\n\\'\\x01\\x02\\x03\\x04\\x05...')");
  });
});
