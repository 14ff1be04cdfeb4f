// test386.asm (github.com/barotto/test386.asm), a 386 CPU test ROM, run as the PC's firmware
// from the reset vector under the software CPU. The ROM is built locally (docs/testing.md:
// nasm, POST port 0x190, COM1 output on), never committed; the test finds it at $TEST386_ROM
// or /work/t386/test386.bin and says why it skips otherwise.
//
// A ratchet: the run must get at least as far through test386's list of tests (in the order
// its README gives them) as it did when this test was written. It now runs every test to POST
// 0xFF (about 104.5 million instructions; slow, ~1.6 MIPS, because code in the ROM is device
// memory and is not kept in the decode cache). Its COM1 output differed from
// test386-EE-reference.txt in 73 of 44,926 lines when last compared, all the OF flag after
// ROL/RCL/RCR by more than one bit (undefined in the SDM; tsemu does what the P6 family does,
// the reference is a 386).
import { describe, expect, it } from 'vitest';
import { readTest386Rom, runTest386, test386RomPath, TEST386_POST_PORT } from './test386-runner.js';

/** POST codes in the order test386 runs its tests (README, "How to use"; 0x22 only in the 128 KiB ROM). */
const ORDER = [
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09, 0x20, 0x21, 0x22, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0xe0, 0xee, 0xff,
];
/** The furthest test reached (ratchet). */
const REACHED = 0xff;

const rom = test386RomPath();
if (rom === null) {
  console.log('test386: skipped, no ROM at $TEST386_ROM or /work/t386/test386.bin (see docs/testing.md to build it)');
}

/** A 64 KiB ROM: the reset vector jumps to F000:0000, which reports two POST codes and halts. */
function tinyRom(): Uint8Array {
  const image = new Uint8Array(0x10000).fill(0xf4);
  image.set([
    0xb0, 0x42, //                         mov al, 0x42
    0xba, TEST386_POST_PORT & 0xff, TEST386_POST_PORT >> 8, // mov dx, 0x190
    0xee, //                               out dx, al
    0x2e, 0xc6, 0x06, 0x00, 0x00, 0x99, // mov byte [cs:0], 0x99 (ROM: ignored)
    0x2e, 0xa0, 0x00, 0x00, //             mov al, [cs:0]
    0xee, //                               out dx, al
    0xf4, //                               hlt
  ]);
  image.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0); // jmp far F000:0000
  return image;
}

describe('a firmware ROM from the reset vector', () => {
  it('starts at 0xFFFFFFF0, jumps into the low alias, reports POST codes on 0x190 and ignores writes to the ROM', async () => {
    const r = await runTest386(tinyRom(), { budget: 1000 });
    expect(r.end).toBe('halt');
    expect(r.codes).toEqual([0x42, 0xb0]);
    expect(r.romWrites).toBe(1);
    expect(r.instructions).toBe(8); // the far jump, six, HLT
  });
});

describe.runIf(rom !== null)('test386.asm', () => {
  it(`gets at least as far as POST 0x${REACHED.toString(16)}`, async () => {
    const r = await runTest386(readTest386Rom(rom!));
    const reached = Math.max(...r.codes.map((c) => ORDER.indexOf(c)));
    console.log(
      `test386: POST ${r.codes.map((c) => c.toString(16)).join(' ')}; ended by ${r.end} after ${r.instructions} instructions` +
        ` at ${r.where}${r.message ? `: ${r.message}` : ''}`,
    );
    expect(r.codes.slice(0, 3)).toEqual([0x00, 0x01, 0x02]);
    expect(reached).toBeGreaterThanOrEqual(ORDER.indexOf(REACHED));
  }, 10 * 60_000);
});
