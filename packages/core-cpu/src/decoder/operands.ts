/*
 * Operand notation of the opcode table, parsed once at module load into compact numeric
 * descriptors (one small integer per operand) so the decoder and interpreter never look at a
 * string on the hot path.
 *
 * Notation follows Intel SDM Vol. 2, Appendix A.2 (addressing method letter + operand type):
 *   methods  A (far pointer in the instruction), C (ModRM.reg = control register),
 *            D (ModRM.reg = debug register), E (ModRM.rm: register or memory), G (ModRM.reg: GPR),
 *            I (immediate), J (relative branch offset), M (ModRM.rm: memory only),
 *            O (moffs: absolute offset, no ModRM), R (ModRM.rm: register only),
 *            S (ModRM.reg = segment register), X (DS:rSI string source), Y (ES:rDI string dest)
 *   types    b w d q v (16/32/64 by operand size) z (16/32; 32 also when operand size is 64)
 *            y (32, or 64 with 64-bit operand size) p (far pointer 16:16/16:32/16:64)
 *            a (BOUND pair, 2x operand size) s (pseudo-descriptor, 6 bytes, 10 in 64-bit mode)
 *   fixed    AL CL DX AX (fixed registers), eAX (AX/EAX by operand size), rAX (AX/EAX/RAX),
 *            ES CS SS DS FS GS, 1 (the constant one of the shift group)
 * Deviations from the SDM, each because the SDM expresses the fact in prose rather than notation:
 *   Zb Zv Zy   register in the low three opcode bits (+REX.B); SDM writes "rAX/r8" style pairs
 *              per opcode row (QEMU decode-new uses the same Z letter).
 *   Ibs        byte immediate sign-extended to the operand size (83 /n, 6A, 6B); SDM writes Ib and
 *              says "sign-extended" in the instruction page.
 *   Rv/Mw      register of operand size or a word in memory (SDM A.2 uses it for SLDT/STR/SMSW);
 *              also used for MOV Sreg and LAR/LSL sources, whose register form objdump and the
 *              hardware treat as operand-size wide.
 *   Mqo        CMPXCHG8B/16B operand: m64, or m128 with REX.W (SDM: separate instruction rows).
 *   BXb        XLAT's implicit byte at DS:[rBX+AL].
 *   M (bare)   memory operand whose size is not printed (LEA, and the x87 environment forms).
 *   x87        ST (=ST(0)), STi (ST(i) from ModRM.rm), memory forms M16int M32int M64int
 *              M32fp M64fp M80fp M80bcd Menv (14/28 bytes) Mstate (94/108 bytes), named after
 *              the SDM's x87 instruction pages.
 */

/** Addressing method of an operand (low 5 bits of a descriptor). */
export const OperandMethod = {
  None: 0,
  E: 1,
  G: 2,
  M: 3,
  R: 4,
  /** Rv/Mw: register (size from the size field) or 16-bit memory. */
  RvMw: 5,
  I: 6,
  /** Ibs: sign-extended byte immediate. */
  IbSigned: 7,
  J: 8,
  O: 9,
  A: 10,
  S: 11,
  C: 12,
  D: 13,
  X: 14,
  Y: 15,
  /** A fixed general register; register number in the extra field. */
  Reg: 16,
  /** Register from the low three opcode bits, extended by REX.B. */
  Z: 17,
  /** A fixed segment register; Sreg number in the extra field. */
  Seg: 18,
  /** The constant 1 (D0-D3 shift group). */
  One: 19,
  /** x87 ST(0). */
  St0: 20,
  /** x87 ST(i), i = ModRM.rm. */
  StI: 21,
  /** XLAT's byte at DS:[rBX+AL]. */
  Xlat: 22,
} as const;
export type OperandMethod = (typeof OperandMethod)[keyof typeof OperandMethod];

/** Operand type (bits 5..9 of a descriptor). */
export const OperandSize = {
  None: 0,
  B: 1,
  W: 2,
  D: 3,
  Q: 4,
  V: 5,
  Z: 6,
  Y: 7,
  P: 8,
  A: 9,
  S: 10,
  Qo: 11,
  M16int: 12,
  M32int: 13,
  M64int: 14,
  M32fp: 15,
  M64fp: 16,
  M80fp: 17,
  M80bcd: 18,
  Env: 19,
  State: 20,
} as const;
export type OperandSize = (typeof OperandSize)[keyof typeof OperandSize];

/** Descriptor layout: method | size << 5 | extra << 10. */
export type OperandDescriptor = number;

export function operandMethod(d: OperandDescriptor): OperandMethod {
  return (d & 0x1f) as OperandMethod;
}
export function operandSizeCode(d: OperandDescriptor): OperandSize {
  return ((d >>> 5) & 0x1f) as OperandSize;
}
/** Register number (Reg) or Sreg number (Seg). */
export function operandExtra(d: OperandDescriptor): number {
  return d >>> 10;
}

function desc(method: OperandMethod, size: OperandSize, extra = 0): OperandDescriptor {
  return method | (size << 5) | (extra << 10);
}

const SIZE_LETTERS: Record<string, OperandSize> = {
  b: OperandSize.B, w: OperandSize.W, d: OperandSize.D, q: OperandSize.Q, v: OperandSize.V,
  z: OperandSize.Z, y: OperandSize.Y, p: OperandSize.P, a: OperandSize.A, s: OperandSize.S,
  qo: OperandSize.Qo, '': OperandSize.None,
};

const FIXED: Record<string, OperandDescriptor> = {
  AL: desc(OperandMethod.Reg, OperandSize.B, 0),
  CL: desc(OperandMethod.Reg, OperandSize.B, 1),
  DX: desc(OperandMethod.Reg, OperandSize.W, 2),
  AX: desc(OperandMethod.Reg, OperandSize.W, 0),
  eAX: desc(OperandMethod.Reg, OperandSize.Z, 0),
  rAX: desc(OperandMethod.Reg, OperandSize.V, 0),
  ES: desc(OperandMethod.Seg, OperandSize.W, 0),
  CS: desc(OperandMethod.Seg, OperandSize.W, 1),
  SS: desc(OperandMethod.Seg, OperandSize.W, 2),
  DS: desc(OperandMethod.Seg, OperandSize.W, 3),
  FS: desc(OperandMethod.Seg, OperandSize.W, 4),
  GS: desc(OperandMethod.Seg, OperandSize.W, 5),
  '1': desc(OperandMethod.One, OperandSize.B),
  ST: desc(OperandMethod.St0, OperandSize.None),
  STi: desc(OperandMethod.StI, OperandSize.None),
  BXb: desc(OperandMethod.Xlat, OperandSize.B),
  'Rv/Mw': desc(OperandMethod.RvMw, OperandSize.V),
  Ibs: desc(OperandMethod.IbSigned, OperandSize.B),
  M16int: desc(OperandMethod.M, OperandSize.M16int),
  M32int: desc(OperandMethod.M, OperandSize.M32int),
  M64int: desc(OperandMethod.M, OperandSize.M64int),
  M32fp: desc(OperandMethod.M, OperandSize.M32fp),
  M64fp: desc(OperandMethod.M, OperandSize.M64fp),
  M80fp: desc(OperandMethod.M, OperandSize.M80fp),
  M80bcd: desc(OperandMethod.M, OperandSize.M80bcd),
  Menv: desc(OperandMethod.M, OperandSize.Env),
  Mstate: desc(OperandMethod.M, OperandSize.State),
};

const METHOD_LETTERS: Record<string, OperandMethod> = {
  A: OperandMethod.A, C: OperandMethod.C, D: OperandMethod.D, E: OperandMethod.E,
  G: OperandMethod.G, I: OperandMethod.I, J: OperandMethod.J, M: OperandMethod.M,
  O: OperandMethod.O, R: OperandMethod.R, S: OperandMethod.S, X: OperandMethod.X,
  Y: OperandMethod.Y, Z: OperandMethod.Z,
};

/** Parses one operand in table notation ("Ev", "Ib", "rAX", "M32fp" ...). Throws on a typo. */
export function parseOperand(text: string): OperandDescriptor {
  const fixed = FIXED[text];
  if (fixed !== undefined) return fixed;
  const method = METHOD_LETTERS[text[0]];
  const size = SIZE_LETTERS[text.slice(1)];
  if (method === undefined || size === undefined) {
    throw new Error(`opcode table: unknown operand notation '${text}'`);
  }
  return desc(method, size);
}

/** Parses "Ev,Gv" into descriptors; "" gives an empty list. */
export function parseOperands(text: string): OperandDescriptor[] {
  return text === '' ? [] : text.split(',').map((t) => parseOperand(t.trim()));
}

/** True when the method needs a ModRM byte. */
export function methodUsesModrm(m: OperandMethod): boolean {
  return (
    m === OperandMethod.E || m === OperandMethod.G || m === OperandMethod.M || m === OperandMethod.R ||
    m === OperandMethod.RvMw || m === OperandMethod.S || m === OperandMethod.C ||
    m === OperandMethod.D || m === OperandMethod.StI
  );
}

/**
 * Size in bytes of an operand of type `size`, for effective operand size `opSize` (2/4/8) and
 * mode 64 flag. Memory-only x87 and descriptor forms give their memory size.
 */
export function operandBytes(size: OperandSize, opSize: number, long: boolean): number {
  switch (size) {
    case OperandSize.B: return 1;
    case OperandSize.W: case OperandSize.M16int: return 2;
    case OperandSize.D: case OperandSize.M32int: case OperandSize.M32fp: return 4;
    case OperandSize.Q: case OperandSize.M64int: case OperandSize.M64fp: return 8;
    case OperandSize.V: return opSize;
    case OperandSize.Z: return opSize === 2 ? 2 : 4;
    case OperandSize.Y: return opSize === 8 ? 8 : 4;
    case OperandSize.P: return opSize + 2;
    case OperandSize.A: return opSize * 2;
    case OperandSize.S: return long ? 10 : 6;
    case OperandSize.Qo: return opSize === 8 ? 16 : 8;
    case OperandSize.M80fp: case OperandSize.M80bcd: return 10;
    case OperandSize.Env: return opSize === 2 ? 14 : 28;
    case OperandSize.State: return opSize === 2 ? 94 : 108;
    default: return 0;
  }
}
