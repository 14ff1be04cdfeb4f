import { describe, expect, it } from 'vitest';
import { createPortBus, type AccessSize } from '../src/platform/index.js';
import { DEBUG_EXIT_DEFAULT_PORT, IsaDebugExit } from '../src/isa-debug-exit.js';

function setup(iosize?: AccessSize) {
  const exits: [number, number][] = [];
  const dev = new IsaDebugExit({ iosize, onExit: (status, value) => exits.push([status, value]) });
  return { dev, exits };
}

describe('IsaDebugExit', () => {
  it('exits with (value << 1) | 1 for a byte write', () => {
    const { dev, exits } = setup();
    dev.write(0, 1, 0x10);
    expect(exits).toEqual([[0x21, 0x10]]);
  });

  it('keeps the full status of a 32-bit write instead of overflowing', () => {
    const { dev, exits } = setup();
    dev.write(0, 4, 0xffffffff);
    expect(exits).toEqual([[2 ** 33 - 1, 0xffffffff]]);
  });

  it('masks the value to the access size', () => {
    const { dev, exits } = setup();
    dev.write(2, 2, 0x12345);
    expect(exits).toEqual([[0x2345 * 2 + 1, 0x2345]]);
  });

  it('reads as zero', () => {
    const { dev } = setup();
    expect(dev.read(0, 1)).toBe(0);
    expect(dev.read(0, 4)).toBe(0);
  });

  it('defaults to a 4-port window at 0xf4 and rejects other sizes', () => {
    expect(DEBUG_EXIT_DEFAULT_PORT).toBe(0xf4);
    expect(setup().dev.size).toBe(4);
    expect(setup(2).dev.size).toBe(2);
    expect(() => setup(3 as AccessSize)).toThrow(RangeError);
  });

  it('receives a 32-bit out whole when registered with its access sizes', () => {
    const bus = createPortBus();
    const { dev, exits } = setup();
    bus.register(DEBUG_EXIT_DEFAULT_PORT, dev.size, dev, dev.accessSizes);
    bus.write(0xf4, 4, 0x31);
    expect(exits).toEqual([[0x63, 0x31]]);
  });
});
