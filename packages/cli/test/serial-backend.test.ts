// COM1's output backend (run/serial-backend.ts): bytes are gathered and written in order once
// the event loop turns, at flush, when the buffer fills, and at close; nothing is lost.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSerialBackend } from '../src/run/serial-backend.js';

const dirs: string[] = [];
function outputFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsemu-serial-'));
  dirs.push(dir);
  return join(dir, 'com1.txt');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

describe('serial output backend', () => {
  it('writes the bytes in order after the event loop turns, and at flush and close', async () => {
    const path = outputFile();
    const out = openSerialBackend({ kind: 'file', path })!;
    // The UART hands over one reused byte array: the backend must copy it.
    const byte = new Uint8Array(1);
    for (const c of 'boot: ') {
      byte[0] = c.charCodeAt(0);
      out.write(byte);
    }
    expect(readFileSync(path, 'latin1')).toBe('');
    await new Promise((resolve) => setImmediate(resolve));
    expect(readFileSync(path, 'latin1')).toBe('boot: ');
    out.write(text('ok'));
    out.flush();
    expect(readFileSync(path, 'latin1')).toBe('boot: ok');
    out.write(text('\nbye'));
    out.close();
    expect(readFileSync(path, 'latin1')).toBe('boot: ok\nbye');
  });

  it('writes out a full buffer at once and keeps writes larger than the buffer in order', () => {
    const path = outputFile();
    const out = openSerialBackend({ kind: 'file', path })!;
    const big = new Uint8Array(200 * 1024).fill(0x61);
    out.write(text('<'));
    out.write(big);
    out.write(text('>'));
    for (let i = 0; i < 70 * 1024; i++) out.write(text('b'));
    // More than the buffer holds went out without waiting for the event loop.
    expect(readFileSync(path).length).toBeGreaterThan(200 * 1024 + 2);
    out.close();
    const got = readFileSync(path, 'latin1');
    expect(got.length).toBe(1 + big.length + 1 + 70 * 1024);
    expect(got.startsWith('<aaa')).toBe(true);
    expect(got.slice(big.length - 1, big.length + 3)).toBe('aa>b');
    expect(got.endsWith('bbb')).toBe(true);
  });
});
