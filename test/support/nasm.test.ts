// Checks the nasm helper and every guest source it builds: each test/bench guest must be a
// loadable Multiboot v1 image with a consistent a.out-kludge header (Multiboot spec 0.6.96
// sect. 3.1), and the committed demo.bin must match demo.asm.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { assemble, nasmAvailable, requireTool, skipUnless, SHARED_GUESTS_DIR } from './nasm.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const GUEST_DIRS = [SHARED_GUESTS_DIR, join(REPO, 'bench', 'guests')];
const DEMO_DIR = join(REPO, 'packages', 'cli', 'guests');

const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
const MULTIBOOT_SEARCH_BYTES = 8192;
const MULTIBOOT_AOUT_KLUDGE = 1 << 16;

interface MultibootHeader {
  offset: number;
  flags: number;
  headerAddr: number;
  loadAddr: number;
  loadEndAddr: number;
  bssEndAddr: number;
  entryAddr: number;
}

/** The first Multiboot header (32-bit aligned, within 8 KiB) whose checksum holds. */
function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(MULTIBOOT_SEARCH_BYTES, image.length) - 12;
  for (let offset = 0; offset <= limit; offset += 4) {
    if (view.getUint32(offset, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = view.getUint32(offset + 4, true);
    const checksum = view.getUint32(offset + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) continue;
    const field = (n: number) => (offset + n + 4 <= image.length ? view.getUint32(offset + n, true) : 0);
    return {
      offset,
      flags,
      headerAddr: field(12),
      loadAddr: field(16),
      loadEndAddr: field(20),
      bssEndAddr: field(24),
      entryAddr: field(28),
    };
  }
  return undefined;
}

function guestSources(): string[] {
  return GUEST_DIRS.flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => name.endsWith('.asm'))
      .map((name) => join(dir, name)),
  );
}

const noNasm = skipUnless(nasmAvailable(), 'nasm is not installed (apt-get install nasm); guest images cannot be built');

describe('skipUnless', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('does not skip when the condition holds, even under CI', () => {
    vi.stubEnv('CI', 'true');
    expect(skipUnless(true, 'unused')).toBe(false);
  });

  it('skips with a printed reason outside CI', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(skipUnless(false, 'no frobnicator')).toBe(true);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('no frobnicator'));
  });

  it('throws the reason instead of skipping when CI=true', () => {
    vi.stubEnv('CI', 'true');
    expect(() => skipUnless(false, 'no frobnicator')).toThrow(/no frobnicator/);
  });

  it('requireTool reports whether a tool can be used and names a missing one', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(requireTool('nasm', true)).toBe(true);
    expect(requireTool('frobnicator', false)).toBe(false);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('frobnicator'));
  });
});

describe.skipIf(noNasm)('guest sources assemble into Multiboot images', () => {
  const sources = guestSources();

  it('finds the test and bench guests', () => {
    const names = sources.map((s) => s.slice(s.lastIndexOf('/') + 1)).sort();
    expect(names).toEqual(
      expect.arrayContaining(['mmio-hole.asm', 'pio-bench.asm', 'pit-hlt.asm', 'serial-hello.asm', 'spin.asm', 'triple-fault.asm']),
    );
  });

  it.each(sources)('%s has a valid header and consistent a.out-kludge fields', async (source) => {
    const image = await assemble(source);
    const header = findMultibootHeader(image);
    expect(header, 'no Multiboot header with a valid checksum in the first 8 KiB').toBeDefined();
    const h = header!;
    expect(h.offset % 4).toBe(0);
    expect(h.flags & MULTIBOOT_AOUT_KLUDGE).not.toBe(0);
    expect(h.loadAddr).toBeGreaterThanOrEqual(0x100000);
    expect(h.headerAddr).toBeGreaterThanOrEqual(h.loadAddr);
    // The loader reads the file from this offset: it must be inside the file.
    const textOffset = h.offset - (h.headerAddr - h.loadAddr);
    expect(textOffset).toBeGreaterThanOrEqual(0);
    const loadEnd = h.loadEndAddr === 0 ? h.loadAddr + image.length - textOffset : h.loadEndAddr;
    expect(loadEnd).toBeGreaterThan(h.loadAddr);
    expect(loadEnd - h.loadAddr).toBeLessThanOrEqual(image.length - textOffset);
    if (h.bssEndAddr !== 0) expect(h.bssEndAddr).toBeGreaterThanOrEqual(loadEnd);
    expect(h.entryAddr).toBeGreaterThanOrEqual(h.loadAddr);
    expect(h.entryAddr).toBeLessThan(loadEnd);
  });

  it('passes defines to nasm and caches each variant separately', async () => {
    const source = join(REPO, 'bench', 'guests', 'pio-bench.asm');
    const standard = await assemble(source);
    const small = await assemble(source, { PIO_COUNT: 10 });
    expect(Buffer.from(small).equals(Buffer.from(standard))).toBe(false);
    // mov ecx, 10 (b9 0a 00 00 00) sets up the loop count.
    expect(Buffer.from(small).includes(Buffer.from([0xb9, 0x0a, 0, 0, 0]))).toBe(true);
    expect(Buffer.from(await assemble(source, { PIO_COUNT: 10 })).equals(Buffer.from(small))).toBe(true);
  });

  it('rejects a define name nasm would not accept', async () => {
    await expect(assemble(join(REPO, 'bench', 'guests', 'pio-bench.asm'), { 'A B': 1 })).rejects.toThrow(/not a nasm identifier/);
  });
});

describe.skipIf(noNasm)('assemble', () => {
  let scratch: string | undefined;
  afterEach(() => {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    scratch = undefined;
  });

  it('reassembles when an included file changes, not only the source', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'tsemu-nasm-test-'));
    mkdirSync(join(scratch, 'lib'));
    const source = join(scratch, 'probe.asm');
    writeFileSync(source, '%include "lib/value.inc"\ndb VALUE\n');
    writeFileSync(join(scratch, 'lib', 'value.inc'), 'VALUE equ 0x11\n');
    expect([...(await assemble(source))]).toEqual([0x11]);
    writeFileSync(join(scratch, 'lib', 'value.inc'), 'VALUE equ 0x22\n');
    expect([...(await assemble(source))]).toEqual([0x22]);
  });

  it('reports nasm errors with nasm messages', async () => {
    scratch = mkdtempSync(join(tmpdir(), 'tsemu-nasm-test-'));
    const source = join(scratch, 'broken.asm');
    writeFileSync(source, 'bits 32\n  mov eax, [nonexistent_label]\n');
    await expect(assemble(source)).rejects.toThrow(/nonexistent_label/);
  });
});

describe.skipIf(noNasm)('demo guest', () => {
  it('committed demo.bin is what demo.asm assembles to', async () => {
    const built = await assemble(join(DEMO_DIR, 'demo.asm'));
    const committed = readFileSync(join(DEMO_DIR, 'demo.bin'));
    expect(Buffer.from(built).equals(committed)).toBe(true);
  });

  it('demo.bin carries every line the demo promises to print', () => {
    const text = readFileSync(join(DEMO_DIR, 'demo.bin')).toString('latin1');
    for (const line of [
      'tsemu demo guest: hello from real mode (16-bit)\r\n',
      'entered protected mode (32-bit)\r\n',
      'entered long mode (64-bit)\r\n',
      'cpu vendor: ',
      'fib(90) = 0x',
      'demo guest done: powering off\r\n',
    ]) {
      expect(text).toContain(line);
    }
  });
});
