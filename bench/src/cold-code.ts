/**
 * A "cold code" guest for the interpreter benchmark: many distinct small functions, each run a
 * few hundred times, as a kernel's early init runs its code. The hot loops of interp-workloads.ts
 * keep every decoded instruction in the host's caches; the Linux boot under the JIT interprets
 * only code that has run fewer than the translation threshold's times, spread over tens of
 * thousands of blocks, and there the interpreter waited on memory (decoded instructions and
 * blocks missing the host's caches) more than it computed. This workload measures that case.
 *
 * COLD_FUNCTIONS functions of 32-bit code, one per 128-byte slot from COLD_CODE, each a frame
 * (push ebp / mov ebp, esp / push ebx / sub esp, 16 ... add esp, 16 / pop ebx / pop ebp / ret)
 * around ~20 operations drawn from a fixed generator: loads and stores of frame locals, ALU
 * forms, LEA with SIB, shifts, MOVZX, IMUL, PUSH/POP, and conditional branches both taken and
 * not taken (on flags set by `cmp esp, esp`, so the instruction count is known without running
 * it). A driver at 0x10000 calls them in order through a table, COLD_PASSES times a round.
 * Deterministic: the same bytes every run (a fixed LCG seed).
 */
import { le32 } from './interp-workloads.js';

export const COLD_CODE = 0x40000;
const COLD_SLOT = 128;
/** Slots up to 0x7e000: v86's image sets ESP to 0x80000 (v86-guest.ts), so the stack stays clear of the code. */
const COLD_FUNCTIONS = 1920;
/** The function table (inside the flat loops' output area, which nothing else here uses). */
export const COLD_TABLE = 0x38000;
const COLD_PASSES = 4;

const EAX = 0;
const EDX = 2;
const EBX = 3;
const REGS = [EAX, EDX, EBX];
/** Frame locals [ebp-4] ... [ebp-16] as disp8. */
const LOCALS = [0xfc, 0xf8, 0xf4, 0xf0];

interface Operation {
  bytes: number[];
  instructions: number;
}

/** A fixed 32-bit LCG: the same code on every run and under every emulator. */
class Lcg {
  private state: number;

  constructor(seed: number) {
    this.state = seed | 0;
  }

  next(n: number): number {
    this.state = (Math.imul(this.state, 1103515245) + 12345) | 0;
    return (this.state >>> 16) % n;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.next(items.length)];
  }
}

/** One straight-line operation (no branch). */
function straight(rng: Lcg): Operation {
  const r = rng.pick(REGS);
  const s = rng.pick(REGS);
  const local = rng.pick(LOCALS);
  const imm8 = rng.next(128);
  const forms: (() => number[])[] = [
    () => [0x8b, 0x45 | (r << 3), local], //              mov r, [ebp+d8]
    () => [0x89, 0x45 | (r << 3), local], //              mov [ebp+d8], r
    () => [0x01, 0xc0 | (s << 3) | r], //                 add r, s
    () => [0x83, 0xe8 | r, imm8], //                      sub r, imm8
    () => [0x31, 0xc0 | (s << 3) | r], //                 xor r, s
    () => [0x8d, 0x44 | (r << 3), 0x40 | (s << 3) | s, imm8], // lea r, [s+s*2+d8]
    () => [0xc1, 0xe0 | r, 1 + rng.next(7)], //           shl r, imm8
    () => [0x0f, 0xb6, 0x45 | (r << 3), local], //        movzx r, byte [ebp+d8]
    () => [0x81, 0xe0 | r, ...le32(0x00ff00ff)], //       and r, imm32
    () => [0x40 | r], //                                  inc r
    () => [0xb8 | r, ...le32(rng.next(0x7fff) * 0x10001)], // mov r, imm32
    () => [0x83, 0xf8 | r, imm8], //                      cmp r, imm8
    () => [0x01, 0x45 | (r << 3), local], //              add [ebp+d8], r
    () => [0x85, 0xc0 | (s << 3) | r], //                 test r, s
    () => [0x0f, 0xaf, 0xc0 | (r << 3) | s], //           imul r, s
  ];
  return { bytes: rng.pick(forms)(), instructions: 1 };
}

/** An operation: mostly straight-line, some PUSH/POP pairs, some branches over one operation. */
function operation(rng: Lcg): Operation {
  const kind = rng.next(10);
  if (kind === 0) {
    return { bytes: [0x50 | rng.pick(REGS), 0x58 | rng.pick(REGS)], instructions: 2 }; // push r / pop s
  }
  if (kind === 1 || kind === 2) {
    // cmp esp, esp (ZF = 1), then je (taken: the next operation is skipped) or jne (not taken).
    const skipped = straight(rng);
    const taken = kind === 1;
    return {
      bytes: [0x39, 0xe4, taken ? 0x74 : 0x75, skipped.bytes.length, ...skipped.bytes],
      instructions: 2 + (taken ? 0 : skipped.instructions),
    };
  }
  return straight(rng);
}

const PROLOGUE = [0x55, 0x89, 0xe5, 0x53, 0x83, 0xec, 0x10]; // push ebp; mov ebp, esp; push ebx; sub esp, 16
const EPILOGUE = [0x83, 0xc4, 0x10, 0x5b, 0x5d, 0xc3]; //      add esp, 16; pop ebx; pop ebp; ret

/** One function's bytes (at most COLD_SLOT) and the instructions a call of it runs. */
function coldFunction(rng: Lcg): Operation {
  const bytes = [...PROLOGUE];
  let instructions = 4 + 4;
  for (let k = 0; k < 24; k++) {
    const op = operation(rng);
    if (bytes.length + op.bytes.length + EPILOGUE.length > COLD_SLOT) break;
    bytes.push(...op.bytes);
    instructions += op.instructions;
  }
  bytes.push(...EPILOGUE);
  return { bytes, instructions };
}

export interface ColdCode {
  /** The driver, for 0x10000. */
  driver: number[];
  /** COLD_FUNCTIONS slots of COLD_SLOT bytes, for COLD_CODE. */
  functions: Uint8Array;
  /** The function table, for COLD_TABLE. */
  table: Uint8Array;
  /** Instructions from the driver's first to its HLT. */
  instructions: number;
}

export function coldCode(): ColdCode {
  const rng = new Lcg(2026);
  const functions = new Uint8Array(COLD_FUNCTIONS * COLD_SLOT).fill(0xcc); // int3 between functions
  const table = new Uint8Array(COLD_FUNCTIONS * 4);
  let perPass = 0;
  for (let f = 0; f < COLD_FUNCTIONS; f++) {
    const fn = coldFunction(rng);
    functions.set(fn.bytes, f * COLD_SLOT);
    table.set(le32(COLD_CODE + f * COLD_SLOT), f * 4);
    // call [edi], the function, then add edi, 4 / dec ecx / jnz inner
    perPass += 1 + fn.instructions + 3;
  }
  const driver = [
    0xbe, ...le32(COLD_PASSES), //     mov esi, PASSES
    // outer (0x10005):
    0xbf, ...le32(COLD_TABLE), //      mov edi, TABLE
    0xb9, ...le32(COLD_FUNCTIONS), //  mov ecx, FUNCTIONS
    // inner (0x1000f):
    0xff, 0x17, //                     call [edi]
    0x83, 0xc7, 0x04, //               add edi, 4
    0x49, //                           dec ecx
    0x75, 0xf8, //                     jnz inner
    0x4e, //                           dec esi
    0x75, 0xeb, //                     jnz outer
    0xf4, //                           hlt
  ];
  return { driver, functions, table, instructions: 1 + COLD_PASSES * (2 + perPass + 2) + 1 };
}
