/*
 * The shape of one opcode-table row (what the table authors write) and of the compiled entry
 * (what the decoder, interpreter, JIT and disassembler read). The notation is described in
 * operands.ts; the field list mirrors what QEMU's decode-new.c.inc and v86's gen/x86_table.js
 * record per opcode.
 */

/** CPU generation that introduced an instruction. */
export type Generation = '8086' | '186' | '286' | '386' | '486' | 'pentium' | 'p6' | 'x86-64';

/** Mandatory prefix selecting an entry (for SSE-style rows); 'np' = none of 66/F2/F3. */
export type MandatoryPrefix = 'np' | '66' | 'f3' | 'f2';

/** EFLAGS effects as letters: O S Z A P C (status), D I T (control/system), '*' = every flag. */
export interface FlagSpec {
  read?: string;
  written?: string;
  /** Left undefined by the instruction (a subset of what it writes or leaves alone). */
  undefined?: string;
}

export interface OpcodeRow {
  /** 0x00-0xff one-byte opcode, 0x0f00-0x0fff two-byte (0F xx). */
  op: number;
  /**
   * Mnemonic, Intel syntax, lower case. "a/b/c" gives variants for 16/32/64-bit operand size
   * (or address size when `mnemonicBy` is 'addr').
   */
  mnemonic: string;
  mnemonicBy?: 'addr';
  /** Operands in SDM notation, comma separated (see operands.ts). */
  operands?: string;
  /** ModRM.reg (/digit) this row requires; a list for several. */
  reg?: number | number[];
  /** ModRM.rm this row requires (register form rows such as 0F 01 F8 or D9 E0). */
  rm?: number;
  /** Restricts the row to memory (mod != 3) or register (mod == 3) forms. */
  mod?: 'mem' | 'reg';
  prefix?: MandatoryPrefix;
  flags?: FlagSpec;
  /** LOCK allowed (only ever with a memory destination). */
  lock?: boolean;
  /** Accepts REP (F3) as a repeat prefix; 'repe' when F3/F2 also test ZF (CMPS/SCAS). */
  rep?: 'rep' | 'repe';
  since: Generation;
  /** Invalid in 64-bit mode. */
  i64?: boolean;
  /** Valid only in 64-bit mode. */
  o64?: boolean;
  /** Operand size defaults to 64 in 64-bit mode (66 selects 16; no 32-bit form). */
  d64?: boolean;
  /** Operand size is 64 in 64-bit mode whatever the prefixes (Intel behaviour for branches). */
  f64?: boolean;
  /** Ends a translation block: control transfer, fault by design, or a mode/paging change. */
  blockEnd?: boolean;
  /** CPL 0 only (#GP otherwise). */
  privileged?: boolean;
  /** IOPL-sensitive (IN/OUT/INS/OUTS/CLI/STI): checked against IOPL and the I/O bitmap. */
  iopl?: boolean;
  /** Not reached through the opcode lookup; the decoder selects it itself (0x90 NOP/PAUSE). */
  special?: boolean;
}

/** A row after compilation: numeric fields for the hot path. */
export interface OpcodeEntry extends OpcodeRow {
  /** Position in OPCODE_TABLE. */
  readonly index: number;
  /** Handler key, e.g. 'add_Ev_Gv', 'call_Mp', 'fadd_ST_STi'; aliases (82 = 80) share one. */
  readonly key: string;
  /** Operand descriptors (see operands.ts). */
  readonly ops: readonly number[];
  /** Mnemonic for operand size 16, 32, 64 (or address size with mnemonicBy 'addr'). */
  readonly names: readonly [string, string, string];
  readonly hasModrm: boolean;
  /** EFLAGS masks (FLAG_* bits) parsed from `flags`. */
  readonly flagsRead: number;
  readonly flagsWritten: number;
  readonly flagsUndefined: number;
  /** Bitmask of ENTRY_* attributes. */
  readonly attrs: number;
}

export const ENTRY_LOCK = 1 << 0;
export const ENTRY_I64 = 1 << 1;
export const ENTRY_O64 = 1 << 2;
export const ENTRY_D64 = 1 << 3;
export const ENTRY_F64 = 1 << 4;
export const ENTRY_BLOCK_END = 1 << 5;
export const ENTRY_PRIVILEGED = 1 << 6;
export const ENTRY_IOPL = 1 << 7;
export const ENTRY_REP = 1 << 8;
export const ENTRY_REPE = 1 << 9;
export const ENTRY_X87 = 1 << 10;
/** MOV to/from CRn/DRn: ModRM.mod is ignored and rm always names a register. */
export const ENTRY_MOD_IGNORED = 1 << 11;
export const ENTRY_MNEMONIC_BY_ADDR = 1 << 12;
/** Some ModRM-less or group opcode rows are chosen by a mandatory 66/F2/F3 prefix. */
export const ENTRY_MANDATORY_PREFIX = 1 << 13;
/** Some operand is read from bytes after ModRM (I, J, O or A): the decoder's immediate pass runs. */
export const ENTRY_HAS_IMMEDIATE = 1 << 14;

/** EFLAGS bit masks (SDM Vol. 1, 3.4.3). */
export const FLAG_CF = 0x1;
export const FLAG_PF = 0x4;
export const FLAG_AF = 0x10;
export const FLAG_ZF = 0x40;
export const FLAG_SF = 0x80;
export const FLAG_TF = 0x100;
export const FLAG_IF = 0x200;
export const FLAG_DF = 0x400;
export const FLAG_OF = 0x800;
/** Every defined EFLAGS bit (IOPL, NT, RF, VM, AC, VIF, VIP, ID included). */
export const FLAG_ALL = 0x3f7fd5;

const FLAG_LETTERS: Record<string, number> = {
  C: FLAG_CF, P: FLAG_PF, A: FLAG_AF, Z: FLAG_ZF, S: FLAG_SF,
  T: FLAG_TF, I: FLAG_IF, D: FLAG_DF, O: FLAG_OF, '*': FLAG_ALL,
};

export function parseFlags(letters: string | undefined): number {
  let mask = 0;
  for (const ch of letters ?? '') {
    const bit = FLAG_LETTERS[ch];
    if (bit === undefined) throw new Error(`opcode table: unknown flag letter '${ch}'`);
    mask |= bit;
  }
  return mask;
}
