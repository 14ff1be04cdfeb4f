/**
 * Instructions a WebAssembly translation runs by calling the interpreter's handler, where the
 * backend writes no code of its own (forms.ts): bit tests on memory, double shifts of memory,
 * CMPXCHG8B, string instructions with REP, DIV on memory ... Before this, such an instruction ended the
 * translation (the run loop went on from it in the interpreter), and a block that started with
 * one became a JavaScript translation: 44 of them on the Linux boot, whose background
 * TurboFan compiles took about 36 ms each.
 *
 * The call (WasmContext.handlerCall) hands over the whole state: the flag record goes to
 * LazyFlags, EAX..EDI to the register file, RIP is set to the next instruction as the run loop
 * sets it, and the retired count to the instructions before; the registers are read back
 * after. The handler may fault (the translation leaves through its fault exit, the locals
 * still the state before the instruction), set RIP elsewhere (REP left unfinished, or a taken
 * branch: the translation leaves at that RIP), or leave work pending (a write to translated
 * code, an interrupt raised by a device: it leaves after the instruction).
 *
 * Only instructions that change nothing a translation assumes for its whole run qualify: no
 * segment register, control or debug register, EFLAGS.DF or AC (DF is in the status area, AC
 * picks the MMU's access masks), no IF set (CLI is taken), no mode or paging change, and no
 * port I/O (a device may reset the machine). That is a list by mnemonic, with forms naming a
 * segment, control or debug register left out.
 */
import type { Instruction } from '../../decoder/instruction.js';
import { keyParts } from '../key-parts.js';

const CALLABLE = new Set([
  'add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp', 'test', 'inc', 'dec', 'neg', 'not',
  'mul', 'imul', 'div', 'idiv', 'shl', 'sal', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'shld', 'shrd',
  'bt', 'bts', 'btr', 'btc', 'bsf', 'bsr', 'bswap',
  'mov', 'movzx', 'movsx', 'lea', 'xchg', 'cmpxchg', 'cmpxchg8b', 'xadd', 'push', 'pop',
  'cbw', 'cwd', 'lahf', 'sahf', 'xlat', 'cpuid', 'nop', 'cmc', 'clc', 'stc', 'leave', 'pusha', 'popa',
  'daa', 'das', 'aaa', 'aas', 'aam', 'aad',
  // CLI only clears IF: no interrupt is taken inside a translation anyway, and the run loop
  // looks at IF when it leaves (STI, whose interrupt shadow ends at the next instruction, and
  // POPF are left out). local_irq_save (PUSHF; POP; CLI) was a third of the Linux boot's
  // JavaScript translations.
  'cli',
  'movs', 'stos', 'lods', 'scas', 'cmps',
  'seto', 'setno', 'setb', 'setae', 'sete', 'setne', 'setbe', 'seta', 'sets', 'setns', 'setp', 'setnp', 'setl', 'setge', 'setle', 'setg',
  'cmovo', 'cmovno', 'cmovb', 'cmovae', 'cmove', 'cmovne', 'cmovbe', 'cmova', 'cmovs', 'cmovns', 'cmovp', 'cmovnp', 'cmovl', 'cmovge', 'cmovle', 'cmovg',
]);

/** Operand forms that name a segment, control or debug register. */
const SYSTEM_OPERAND = /(^|_)(Sw|Cy|Dy|ES|CS|SS|DS|FS|GS)(_|$)/;

/** Whether a WebAssembly translation may run `insn` through its handler. */
export function handlerCallable(insn: Instruction): boolean {
  const { name, form } = keyParts(insn.entry);
  return insn.handler !== null && CALLABLE.has(name) && !SYSTEM_OPERAND.test(form);
}
