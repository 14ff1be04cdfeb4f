/*
 * Two-byte opcode map, 0F xx (SDM Vol. 2, Table A-3), integer and system instructions up to the
 * P6 plus SYSCALL/SYSRET/SWAPGS/RDTSCP from x86-64. MMX/SSE rows (0F 10-17, 28-2F, 50-7F,
 * C2-C6, D0-FF ...), 0F 0D and 0F 18 /0-/3 prefetches and the 0F 38/0F 3A maps are deliberately absent:
 * those opcodes decode as invalid (#UD) until rows with `prefix` are added.
 */
import { CONDITIONS } from './opcode-table-1byte.js';
import type { FlagSpec, OpcodeRow } from './opcode-types.js';

const BIT_TEST: FlagSpec = { written: 'OSAPC', undefined: 'OSAP' };
const BIT_OPS = ['bt', 'bts', 'btr', 'btc'];

export const TWO_BYTE_ROWS: OpcodeRow[] = [
  // Group 6 (0F 00): descriptor-table registers; protected mode only (the executor checks).
  { op: 0x0f00, reg: 0, mnemonic: 'sldt', operands: 'Rv/Mw', since: '286' },
  { op: 0x0f00, reg: 1, mnemonic: 'str', operands: 'Rv/Mw', since: '286' },
  { op: 0x0f00, reg: 2, mnemonic: 'lldt', operands: 'Ew', privileged: true, since: '286' },
  { op: 0x0f00, reg: 3, mnemonic: 'ltr', operands: 'Ew', privileged: true, since: '286' },
  { op: 0x0f00, reg: 4, mnemonic: 'verr', operands: 'Ew', flags: { written: 'Z' }, since: '286' },
  { op: 0x0f00, reg: 5, mnemonic: 'verw', operands: 'Ew', flags: { written: 'Z' }, since: '286' },
  // Group 7 (0F 01): memory forms, then the register forms that encode whole instructions.
  { op: 0x0f01, reg: 0, mnemonic: 'sgdt', operands: 'Ms', since: '286' },
  { op: 0x0f01, reg: 1, mnemonic: 'sidt', operands: 'Ms', since: '286' },
  { op: 0x0f01, reg: 2, mnemonic: 'lgdt', operands: 'Ms', privileged: true, blockEnd: true, since: '286' },
  { op: 0x0f01, reg: 3, mnemonic: 'lidt', operands: 'Ms', privileged: true, blockEnd: true, since: '286' },
  { op: 0x0f01, reg: 4, mnemonic: 'smsw', operands: 'Rv/Mw', since: '286' },
  { op: 0x0f01, reg: 6, mnemonic: 'lmsw', operands: 'Ew', privileged: true, blockEnd: true, since: '286' },
  { op: 0x0f01, reg: 7, mnemonic: 'invlpg', operands: 'Mb', privileged: true, blockEnd: true, since: '486' },
  { op: 0x0f01, reg: 7, rm: 0, mod: 'reg', mnemonic: 'swapgs', o64: true, privileged: true, since: 'x86-64' },
  { op: 0x0f01, reg: 7, rm: 1, mod: 'reg', mnemonic: 'rdtscp', since: 'x86-64' },
  { op: 0x0f01, reg: 1, rm: 2, mod: 'reg', mnemonic: 'clac', since: 'x86-64' },
  { op: 0x0f01, reg: 1, rm: 3, mod: 'reg', mnemonic: 'stac', since: 'x86-64' },
  { op: 0x0f02, mnemonic: 'lar', operands: 'Gv,Rv/Mw', flags: { written: 'Z' }, since: '286' },
  { op: 0x0f03, mnemonic: 'lsl', operands: 'Gv,Rv/Mw', flags: { written: 'Z' }, since: '286' },
  // SYSCALL/SYSRET: AMD also allows them outside 64-bit mode; the executor checks EFER.SCE/CPUID.
  { op: 0x0f05, mnemonic: 'syscall', flags: { written: '*' }, blockEnd: true, since: 'x86-64' },
  { op: 0x0f06, mnemonic: 'clts', privileged: true, since: '286' },
  { op: 0x0f07, mnemonic: 'sysret', flags: { written: '*' }, privileged: true, blockEnd: true, since: 'x86-64' },
  { op: 0x0f08, mnemonic: 'invd', privileged: true, since: '486' },
  { op: 0x0f09, mnemonic: 'wbinvd', privileged: true, since: '486' },
  { op: 0x0f0b, mnemonic: 'ud2', blockEnd: true, since: 'p6' },
  // 0F 18 /4-/7 and 0F 19-0F 1E: "reserved NOP" hint space on P6 (SDM Table A-3); 0F 1F /0 is the documented
  // multi-byte NOP and hardware ignores ModRM.reg for it.
  { op: 0x0f18, reg: [4, 5, 6, 7], mnemonic: 'nop', operands: 'Ev', since: 'p6' },
  // CET ENDBR32/64 (F3 0F 1E FB/FA): NOPs on every CPU without CET, named for readable traces;
  // the first rows to use the mandatory-prefix column.
  { op: 0x0f1e, prefix: 'f3', reg: 7, rm: 2, mod: 'reg', mnemonic: 'endbr64', since: 'p6' },
  { op: 0x0f1e, prefix: 'f3', reg: 7, rm: 3, mod: 'reg', mnemonic: 'endbr32', since: 'p6' },
  ...[0x0f19, 0x0f1a, 0x0f1b, 0x0f1c, 0x0f1d, 0x0f1e, 0x0f1f].map((op): OpcodeRow => ({ op, mnemonic: 'nop', operands: 'Ev', since: 'p6' })),
  // MOV to/from control and debug registers: ModRM.mod is ignored (always a register).
  { op: 0x0f20, mnemonic: 'mov', operands: 'Ry,Cy', f64: true, privileged: true, since: '386' },
  { op: 0x0f21, mnemonic: 'mov', operands: 'Ry,Dy', f64: true, privileged: true, since: '386' },
  { op: 0x0f22, mnemonic: 'mov', operands: 'Cy,Ry', f64: true, privileged: true, blockEnd: true, since: '386' },
  { op: 0x0f23, mnemonic: 'mov', operands: 'Dy,Ry', f64: true, privileged: true, blockEnd: true, since: '386' },
  { op: 0x0f30, mnemonic: 'wrmsr', privileged: true, blockEnd: true, since: 'pentium' },
  { op: 0x0f31, mnemonic: 'rdtsc', since: 'pentium' },
  { op: 0x0f32, mnemonic: 'rdmsr', privileged: true, since: 'pentium' },
  { op: 0x0f33, mnemonic: 'rdpmc', since: 'p6' },
  { op: 0x0f34, mnemonic: 'sysenter', flags: { written: 'IT' }, blockEnd: true, since: 'p6' },
  { op: 0x0f35, mnemonic: 'sysexit', privileged: true, blockEnd: true, since: 'p6' },
  ...CONDITIONS.map(([cc, read], i): OpcodeRow => ({
    op: 0x0f40 + i, mnemonic: `cmov${cc}`, operands: 'Gv,Ev', flags: { read }, since: 'p6',
  })),
  ...CONDITIONS.map(([cc, read], i): OpcodeRow => ({
    op: 0x0f80 + i, mnemonic: `j${cc}`, operands: 'Jz', flags: { read }, f64: true, blockEnd: true, since: '386',
  })),
  // SETcc ignores ModRM.reg.
  ...CONDITIONS.map(([cc, read], i): OpcodeRow => ({
    op: 0x0f90 + i, mnemonic: `set${cc}`, operands: 'Eb', flags: { read }, since: '386',
  })),
  { op: 0x0fa0, mnemonic: 'push', operands: 'FS', d64: true, since: '386' },
  { op: 0x0fa1, mnemonic: 'pop', operands: 'FS', d64: true, since: '386' },
  // CPUID first shipped in late 486 steppings.
  { op: 0x0fa2, mnemonic: 'cpuid', since: '486' },
  { op: 0x0fa3, mnemonic: 'bt', operands: 'Ev,Gv', flags: BIT_TEST, since: '386' },
  { op: 0x0fa4, mnemonic: 'shld', operands: 'Ev,Gv,Ib', flags: { written: 'OSZPC', undefined: 'OA' }, since: '386' },
  { op: 0x0fa5, mnemonic: 'shld', operands: 'Ev,Gv,CL', flags: { written: 'OSZPC', undefined: 'OA' }, since: '386' },
  { op: 0x0fa8, mnemonic: 'push', operands: 'GS', d64: true, since: '386' },
  { op: 0x0fa9, mnemonic: 'pop', operands: 'GS', d64: true, since: '386' },
  { op: 0x0faa, mnemonic: 'rsm', flags: { written: '*' }, blockEnd: true, since: '386' },
  { op: 0x0fab, mnemonic: 'bts', operands: 'Ev,Gv', flags: BIT_TEST, lock: true, since: '386' },
  { op: 0x0fac, mnemonic: 'shrd', operands: 'Ev,Gv,Ib', flags: { written: 'OSZPC', undefined: 'OA' }, since: '386' },
  { op: 0x0fad, mnemonic: 'shrd', operands: 'Ev,Gv,CL', flags: { written: 'OSZPC', undefined: 'OA' }, since: '386' },
  { op: 0x0faf, mnemonic: 'imul', operands: 'Gv,Ev', flags: { written: 'OSZAPC', undefined: 'SZAP' }, since: '386' },
  { op: 0x0fb0, mnemonic: 'cmpxchg', operands: 'Eb,Gb', flags: { written: 'OSZAPC' }, lock: true, since: '486' },
  { op: 0x0fb1, mnemonic: 'cmpxchg', operands: 'Ev,Gv', flags: { written: 'OSZAPC' }, lock: true, since: '486' },
  { op: 0x0fb2, mnemonic: 'lss', operands: 'Gv,Mp', since: '386' },
  { op: 0x0fb3, mnemonic: 'btr', operands: 'Ev,Gv', flags: BIT_TEST, lock: true, since: '386' },
  { op: 0x0fb4, mnemonic: 'lfs', operands: 'Gv,Mp', since: '386' },
  { op: 0x0fb5, mnemonic: 'lgs', operands: 'Gv,Mp', since: '386' },
  { op: 0x0fb6, mnemonic: 'movzx', operands: 'Gv,Eb', since: '386' },
  { op: 0x0fb7, mnemonic: 'movzx', operands: 'Gv,Ew', since: '386' },
  // UD1 (0F B9 /r) raises #UD by definition but has a defined length.
  { op: 0x0fb9, mnemonic: 'ud1', operands: 'Gv,Ev', blockEnd: true, since: 'p6' },
  ...BIT_OPS.map((mnemonic, i): OpcodeRow => ({
    op: 0x0fba, reg: 4 + i, mnemonic, operands: 'Ev,Ib', flags: BIT_TEST, lock: i !== 0, since: '386',
  })),
  { op: 0x0fbb, mnemonic: 'btc', operands: 'Ev,Gv', flags: BIT_TEST, lock: true, since: '386' },
  { op: 0x0fbc, mnemonic: 'bsf', operands: 'Gv,Ev', flags: { written: 'OSZAPC', undefined: 'OSAPC' }, since: '386' },
  { op: 0x0fbd, mnemonic: 'bsr', operands: 'Gv,Ev', flags: { written: 'OSZAPC', undefined: 'OSAPC' }, since: '386' },
  { op: 0x0fbe, mnemonic: 'movsx', operands: 'Gv,Eb', since: '386' },
  { op: 0x0fbf, mnemonic: 'movsx', operands: 'Gv,Ew', since: '386' },
  { op: 0x0fc0, mnemonic: 'xadd', operands: 'Eb,Gb', flags: { written: 'OSZAPC' }, lock: true, since: '486' },
  { op: 0x0fc1, mnemonic: 'xadd', operands: 'Ev,Gv', flags: { written: 'OSZAPC' }, lock: true, since: '486' },
  // Group 9 /1: CMPXCHG8B, or CMPXCHG16B with REX.W.
  { op: 0x0fae, reg: 0, mod: 'mem', mnemonic: 'fxsave/fxsave/fxsave64', operands: 'M', since: 'p6' },
  { op: 0x0fae, reg: 1, mod: 'mem', mnemonic: 'fxrstor/fxrstor/fxrstor64', operands: 'M', since: 'p6' },
  { op: 0x0fc7, reg: 1, mnemonic: 'cmpxchg8b/cmpxchg8b/cmpxchg16b', operands: 'Mqo', flags: { written: 'Z' }, lock: true, since: 'pentium' },
  // BSWAP of a 16-bit register is undefined (SDM); it still decodes with operand size 16.
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((r): OpcodeRow => ({ op: 0x0fc8 + r, mnemonic: 'bswap', operands: 'Zv', since: '486' })),
];
