// @tsemu/core-cpu: the software CPU. So far: the instruction table, decoder and disassembler.
export { decode, MAX_INSTRUCTION_LENGTH } from './decoder/decoder.js';
export type { ByteSource } from './decoder/decoder.js';
export {
  Instruction, CpuMode, cpuModeOf, DecodeStatus, NO_OPCODE_ENTRY, byteRegIsHigh,
  PREFIX_KIND_LOCK, PREFIX_KIND_REPNE, PREFIX_KIND_REP, PREFIX_KIND_OPSIZE, PREFIX_KIND_ADDRSIZE, PREFIX_KIND_SEG,
  PREFIX_LOCK, PREFIX_REP, PREFIX_REPNE, PREFIX_SEG, PREFIX_OPSIZE, PREFIX_ADDRSIZE, PREFIX_REX,
  REX_B, REX_X, REX_R, REX_W, SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS,
} from './decoder/instruction.js';
export { OPCODE_TABLE, findEntry } from './decoder/opcode-table.js';
export {
  ENTRY_LOCK, ENTRY_I64, ENTRY_O64, ENTRY_D64, ENTRY_F64, ENTRY_BLOCK_END, ENTRY_PRIVILEGED, ENTRY_IOPL,
  ENTRY_REP, ENTRY_REPE, ENTRY_X87, ENTRY_MOD_IGNORED, ENTRY_MNEMONIC_BY_ADDR, ENTRY_MANDATORY_PREFIX,
  ENTRY_HAS_IMMEDIATE,
  FLAG_CF, FLAG_PF, FLAG_AF, FLAG_ZF, FLAG_SF, FLAG_TF, FLAG_IF, FLAG_DF, FLAG_OF, FLAG_ALL,
} from './decoder/opcode-types.js';
export type { OpcodeEntry, OpcodeRow, FlagSpec, Generation, MandatoryPrefix } from './decoder/opcode-types.js';
export {
  OperandMethod, OperandSize, operandMethod, operandSizeCode, operandExtra, operandBytes, parseOperand,
  parseOperands,
} from './decoder/operands.js';
export type { OperandDescriptor } from './decoder/operands.js';
export { LEGACY_TABLES, LONG_TABLES, NO_ENTRY, GROUP_SIZE } from './decoder/lookup.js';
export type { LookupTables } from './decoder/lookup.js';
export { disassemble, gprName } from './disasm/intel.js';
export { SoftCpu } from './interp/soft-cpu.js';
export { PagedLinearMemory } from './interp/paged-memory.js';
export type { LinearMemory } from './interp/linear-memory.js';
export * from './mmu/index.js';
export { LazyFlags, FlagOp } from './alu/lazy-flags.js';
export { CpuRegisters } from './state/cpu-registers.js';
export * as fpu from './fpu/index.js';
export {
  TcgAccelerator, createTcgAccelerator, VirtualClock, MAX_ICOUNT_SHIFT, CpuTracer,
  type TcgAcceleratorOptions, type TcgLocalApic, type TcgStats, type VirtualClockOptions, type CpuTraceOptions, type CpuTraceRange,
} from './tcg/tcg-accelerator.js';
export { Jit, DEFAULT_JIT_THRESHOLD, type JitOptions, type JitCounters } from './jit/jit.js';
export type { CompiledBlock } from './jit/block-compiler.js';
