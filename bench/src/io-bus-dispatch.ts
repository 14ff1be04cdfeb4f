/**
 * Microbenchmark (the `benchmark` package): the cost of one port access through the
 * IoBus to a device, the path every I/O exit and every software-CPU IN/OUT takes.
 * Compared in the same run with a direct call on the device, so the figure is the
 * bus's own overhead.
 */
import Benchmark from 'benchmark';
import { createPortBus, Uart16550, type IoDevice } from '@tsemu/devices';

export function runIoBusBench(): Promise<string[]> {
  const bus = createPortBus();
  const uart = new Uart16550({ irq: { setLevel() {} }, output: () => {} });
  bus.register(0x3f8, 8, uart, [1]);
  // A few neighbours, so the lookup is not trivially a one-entry search.
  for (let i = 0; i < 8; i++) {
    const dev: IoDevice = { name: `dummy${i}`, read: () => 0, write: () => {} };
    bus.register(0x100 + i * 0x10, 8, dev, [1]);
  }
  let sink = 0;
  return new Promise((resolve) => {
    const lines: string[] = [];
    new Benchmark.Suite('io-bus')
      .add('uart scratch register via IoBus (write+read)', () => {
        bus.write(0x3ff, 1, 0x5a);
        sink ^= bus.read(0x3ff, 1);
      })
      .add('uart scratch register direct (write+read)', () => {
        uart.write(7, 1, 0x5a);
        sink ^= uart.read(7, 1);
      })
      .add('unclaimed port read via IoBus', () => {
        sink ^= bus.read(0x0f0f, 1);
      })
      .on('cycle', (event: Benchmark.Event) => {
        const b = event.target as unknown as Benchmark;
        lines.push(`  ${String(b.name).padEnd(48)} ${(1e9 / (b.hz ?? 1)).toFixed(1).padStart(8)} ns/op  (±${(b.stats?.rme ?? 0).toFixed(1)}%)`);
      })
      .on('complete', () => {
        lines.push(`  (checksum ${sink & 1})`);
        resolve(lines);
      })
      .run({ async: false });
  });
}
