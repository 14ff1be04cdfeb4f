/**
 * What the JIT's emitters read from an instruction table key (`add_Ev_Gv`: mnemonic `add`,
 * form `Ev_Gv`), worked out once per key. The emitters ask for every instruction they write,
 * and slicing the key and testing it with regular expressions each time was a tenth of the
 * WebAssembly code generator's time.
 */
import { OPCODE_TABLE } from '../decoder/opcode-table.js';
import type { OpcodeEntry } from '../decoder/opcode-types.js';

export interface KeyParts {
  /** The mnemonic: the key up to its first '_'. */
  name: string;
  /** The operand form after it ('' when there is none). */
  form: string;
  /** JMP, Jcc, LOOPcc or JCXZ with a relative target. */
  relativeBranch: boolean;
  /** Jcc rel8/rel32. */
  jcc: boolean;
  /** The form names a byte operand (Eb, Gb, Ib, AL ...): the operation is 8-bit. */
  byteForm: boolean;
}

const RELATIVE_BRANCH = /^(j[a-z]+_J[bz]|loop(e|ne)?_Jb|jcxz_Jb)$/;
const JCC = /^j(n?[obeslp]|ae|be|a|ge|le|g|l)_J[bz]$/;
const BYTE_FORM = /b$|^Eb|AL|Zb/;

/** By the entry's index in the opcode table (the invalid entry, index -1, at the end). */
const parts: (KeyParts | undefined)[] = new Array<KeyParts | undefined>(OPCODE_TABLE.length + 1).fill(undefined);

export function keyParts(entry: OpcodeEntry): KeyParts {
  const at = entry.index >= 0 ? entry.index : OPCODE_TABLE.length;
  let p = parts[at];
  if (p === undefined) {
    const key = entry.key;
    const us = key.indexOf('_');
    const form = us < 0 ? '' : key.slice(us + 1);
    p = { name: us < 0 ? key : key.slice(0, us), form, relativeBranch: RELATIVE_BRANCH.test(key), jcc: JCC.test(key), byteForm: BYTE_FORM.test(form) };
    parts[at] = p;
  }
  return p;
}
