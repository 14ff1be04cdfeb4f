import { describe, expect, it } from 'vitest';
import { EscapeDecoder } from '../src/console/stdio-console.js';

function harness() {
  const toGuest: number[] = [];
  let quits = 0;
  const help: string[] = [];
  const d = new EscapeDecoder({ toGuest: (b) => toGuest.push(...b), quit: () => quits++ }, (t) => help.push(t));
  return { d, toGuest, help, quits: () => quits };
}

describe('EscapeDecoder (Ctrl-A escapes, as QEMU -nographic)', () => {
  it('passes ordinary bytes through unchanged', () => {
    const h = harness();
    h.d.feed(new TextEncoder().encode('ls -l\r'));
    expect(String.fromCharCode(...h.toGuest)).toBe('ls -l\r');
  });

  it('quits on Ctrl-A x, even split across reads, and drops what follows', () => {
    const h = harness();
    h.d.feed(Uint8Array.of(0x61, 0x01));
    h.d.feed(Uint8Array.of(0x78, 0x62));
    expect(h.quits()).toBe(1);
    expect(h.toGuest).toEqual([0x61]);
  });

  it('sends one Ctrl-A for Ctrl-A Ctrl-A and prints help for Ctrl-A h', () => {
    const h = harness();
    h.d.feed(Uint8Array.of(0x01, 0x01, 0x01, 0x68, 0x7a));
    expect(h.toGuest).toEqual([0x01, 0x7a]);
    expect(h.help.join('')).toContain('C-a x    exit tsemu');
    expect(h.quits()).toBe(0);
  });
});
