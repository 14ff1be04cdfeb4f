// `tsemu run --bios FILE`: a firmware image mapped read-only at the top of 1 MiB and of 4 GiB,
// the CPU starting at the reset vector (F000:FFF0, CS base 0xFFFF0000), POST codes on 0x190.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runTsemu } from '../support/tsemu-process.js';

const dir = mkdtempSync(join(tmpdir(), 'tsemu-bios-'));

/** 64 KiB: reset vector -> F000:0000, POST 0x42 on 0x190, 'R' on COM1, isa-debug-exit with 3. */
function rom(): Buffer {
  const image = Buffer.alloc(0x10000, 0xf4);
  Buffer.from([
    0xb0, 0x42, 0xba, 0x90, 0x01, 0xee, //   mov al, 0x42; mov dx, 0x190; out dx, al
    0xb0, 0x52, 0xba, 0xf8, 0x03, 0xee, //   mov al, 'R'; mov dx, 0x3f8; out dx, al
    0xb0, 0x03, 0xe6, 0xf4, //               mov al, 3; out 0xf4, al
    0xf4, //                                 hlt
  ]).copy(image, 0);
  Buffer.from([0xea, 0x00, 0x00, 0x00, 0xf0]).copy(image, 0xfff0); // jmp far F000:0000
  return image;
}

const romPath = join(dir, 'rom.bin');
writeFileSync(romPath, rom());
const oddPath = join(dir, 'odd.bin');
writeFileSync(oddPath, Buffer.alloc(1000));

describe('tsemu run --bios', () => {
  it('runs the ROM from the reset vector under the software CPU and reports its POST codes with --stats', async () => {
    const r = await runTsemu(['run', '--accel=tcg', '--bios', romPath, '--debug-exit', '--stats']);
    expect(r.stdout).toBe('R');
    expect(r.status).toBe((3 << 1) | 1);
    expect(r.stderr).toMatch(/POST codes: 1, last 0x42/);
  });

  it('refuses an image that is not whole 64 KiB blocks, in one line', async () => {
    const r = await runTsemu(['run', '--accel=tcg', '--bios', oddPath, '--serial', 'none']);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/whole number of 64 KiB blocks/);
  });

  it('refuses --bios with --kernel (no firmware interface to hand a kernel over yet)', async () => {
    const r = await runTsemu(['run', '--bios', romPath, '--kernel', romPath]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--bios cannot be combined with --kernel/);
  });

  it('refuses a missing image', async () => {
    const r = await runTsemu(['run', '--accel=tcg', '--bios', join(dir, 'none.bin')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/BIOS image '.*none\.bin' does not exist/);
  });
});
