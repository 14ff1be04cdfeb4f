/**
 * The bench loops (interp-workloads.ts) as whole guests that run for seconds, for emulators that
 * can only be timed from outside (QEMU), and timed the same way for the others: a Multiboot
 * image (v86-guest.ts's flat 32-bit layout, paging on) whose driver writes START_MARKER to
 * COM1, calls the loop `rounds` times (the HLT that ends it made a RET), writes END_MARKER, and
 * halts with interrupts off. The host times from the first marker's arrival to the second's.
 *
 * Between the two markers the guest retires exactly markedInstructions(): per round the CALL,
 * the loop (the RET in the HLT's place), the DEC of the round counter and the JNZ; then the two
 * MOVs that set up the second OUT. Every loop is branch-free in its count (the data does not
 * change how many instructions run), so the count is the same in every emulator.
 */
import { le32 } from './interp-workloads.js';
import { flat32LoopImage } from './v86-guest.js';

/** STX and ETX: bytes no firmware or loader prints, so nothing else on COM1 is taken for a marker. */
export const START_MARKER = '\x02';
export const END_MARKER = '\x03';

const COM1 = 0x3f8;
const DRIVER = 0x12000;
/** The round counter: its own page, so that its DEC does not write to a page holding code. */
const ROUND_COUNTER = 0x60000;
const HLT = 0xf4;
const RET = 0xc3;

export interface RepeatedLoop {
  name: string;
  loop: readonly number[];
  /** The loop's own instruction count, its closing HLT included. */
  instructions: number;
  /** The offset of the HLT that ends the loop (its last byte unless code follows). */
  hltOffset?: number;
}

/** Instructions retired from the start marker's OUT (excluded) to the end marker's OUT (included). */
export function markedInstructions(w: RepeatedLoop, rounds: number): number {
  return rounds * (1 + w.instructions + 2) + 3;
}

/**
 * The guest: `w`'s loop at 0x10000 run `rounds` times between the two markers. Throws if the
 * loop does not end in HLT (it would not return to the driver).
 */
export function repeatedLoopImage(w: RepeatedLoop, rounds: number): Uint8Array {
  const hltAt = w.hltOffset ?? w.loop.length - 1;
  if (w.loop[hltAt] !== HLT) throw new Error(`${w.name}: no HLT at offset ${hltAt}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 0x7fffffff) throw new Error(`rounds must be a positive 32-bit integer, not ${rounds}`);
  const loop = w.loop.map((byte, i) => (i === hltAt ? RET : byte));
  const again = DRIVER + 7; // after the three instructions of the start marker
  const callNext = again + 5;
  const jnzNext = callNext + 6 + 2; // after the DEC (6 bytes) and the JNZ (2)
  const code = [
    0x66, 0xba, COM1 & 0xff, COM1 >> 8, //        mov dx, COM1
    0xb0, START_MARKER.charCodeAt(0), //          mov al, STX
    0xee, //                                      out dx, al
    // again:
    0xe8, ...le32(0x10000 - callNext), //         call loop
    0xff, 0x0d, ...le32(ROUND_COUNTER), //        dec dword [ROUND_COUNTER]
    0x75, (again - jnzNext) & 0xff, //            jnz again
    0x66, 0xba, COM1 & 0xff, COM1 >> 8, //        mov dx, COM1 (the loops use EDX)
    0xb0, END_MARKER.charCodeAt(0), //            mov al, ETX
    0xee, //                                      out dx, al
    0xfa, //                                      cli
    0xf4, //                                      hlt
    0xeb, 0xfd, //                                jmp hlt
  ];
  return flat32LoopImage(true, loop, [
    { address: DRIVER, bytes: code },
    { address: ROUND_COUNTER, bytes: le32(rounds) },
  ], DRIVER);
}
