/**
 * How the interpreter runs the instructions of a decoded block (decode-cache.ts): one call of
 * `runBlock` per block, which calls each instruction's handler and does the checks between
 * instructions that SoftCpu's run loop describes.
 *
 * Why it is built the way it is: a call through `handlers[k]` is one call site that reaches
 * hundreds of different functions, so V8 can inline none of them and pays a full generic call
 * per instruction (about half of the interpreter's time on our benchmarks). So the most
 * frequent handlers (HOT_FORMS, measured by counting handlers over a Linux boot and the
 * benchmark loops) each get a `case` of their own in a switch, and each case is a separate
 * call site that only ever calls that one handler: V8 inlines it there. Every other
 * instruction still goes through `handlers[k]`. The handlers stay the single description of
 * what an instruction does; this only changes how they are reached. The switch is written out
 * once at startup from the list (`new Function`); it never depends on guest code.
 *
 * Each instruction's case number is picked at decode (`hotIndex`, CodeBlock.hot).
 */
import type { Handler } from './handlers/types.js';
import type { SoftCpu } from './soft-cpu.js';
import type { CodeBlock } from './decode-cache.js';
import { OPCODE_TABLE } from '../decoder/opcode-table.js';
import { loopHandlerFor } from './loop-handlers.js';
import { allowLargeInlining } from './v8-tuning.js';

/**
 * The forms with a case of their own: table key, then for entries with size variants the
 * operand size in bits and r (register) or m (memory) operand. Counted over the Linux 686
 * boot under the interpreter, these cover over 99% of its 7 billion instructions; the 16-bit
 * forms are the real-mode benchmark's.
 */
const HOT_FORMS: readonly string[] = [
  // data movement
  'mov_Gv_Ev 32m', 'mov_Gv_Ev 32r', 'mov_Ev_Gv 32r', 'mov_Ev_Gv 32m', 'mov_Ev_Iz 32m', 'mov_Ev_Iz 32r', 'mov_Zv_Iv 32r',
  'mov_Gv_Ev 16m', 'mov_Ev_Gv 16m', 'mov_Gv_Ev 16r', 'mov_Ev_Gv 16r', 'mov_Zv_Iv 16r',
  'mov_Gb_Eb', 'mov_Eb_Gb', 'mov_Eb_Ib', 'mov_Zb_Ib', 'mov_rAX_Ov', 'mov_Ov_rAX',
  'movzx_Gv_Eb 32r', 'movzx_Gv_Eb 32m', 'movzx_Gv_Ew 32r', 'movzx_Gv_Ew 32m', 'movsx_Gv_Eb 32r', 'movsx_Gv_Ew 32r',
  'lea_Gv_M 32m', 'lea_Gv_M 16m',
  'push_Zv 32r', 'pop_Zv 32r', 'push_Zv 16r', 'pop_Zv 16r', 'push_Ibs', 'push_Iz', 'push_Ev 32m',
  // arithmetic and logic
  'add_Ev_Gv 32r', 'add_Ev_Gv 32m', 'add_Gv_Ev 32m', 'add_Ev_Iz 32r', 'add_Ev_Ibs 32r', 'add_Ev_Ibs 32m', 'add_rAX_Iz 32r',
  'add_Ev_Gv 16r', 'add_Ev_Ibs 16r',
  'sub_Ev_Gv 32r', 'sub_Gv_Ev 32m', 'sub_Ev_Iz 32r', 'sub_Ev_Ibs 32r', 'sub_Ev_Ibs 32m',
  'adc_Ev_Gv 32r', 'adc_Ev_Ibs 32r', 'adc_Gv_Ev 32m', 'sbb_Ev_Gv 32r', 'sbb_Gv_Ev 32m',
  'cmp_Ev_Gv 32r', 'cmp_Ev_Gv 32m', 'cmp_Gv_Ev 32m', 'cmp_Gv_Ev 32r', 'cmp_Ev_Iz 32r', 'cmp_Ev_Ibs 32r', 'cmp_Ev_Ibs 32m',
  'cmp_rAX_Iz 32r', 'cmp_AL_Ib', 'cmp_Eb_Ib', 'cmp_Eb_Gb',
  'and_Ev_Gv 32r', 'and_Ev_Gv 32m', 'and_Gv_Ev 32m', 'and_Ev_Iz 32r', 'and_Ev_Ibs 32r', 'and_Ev_Iz 16r',
  'or_Ev_Gv 32r', 'or_Ev_Ibs 32r', 'xor_Ev_Gv 32r', 'xor_Gv_Ev 32m', 'xor_Gb_Eb', 'xor_Ev_Gv 16m',
  'test_Ev_Gv 32r', 'test_Eb_Gb', 'test_Eb_Ib', 'test_AL_Ib',
  'inc_Zv 32r', 'dec_Zv 32r', 'inc_Ev 32m', 'dec_Ev 32m', 'not_Ev', 'neg_Ev',
  'imul_Gv_Ev 32r', 'mul_Ev 32r',
  'shl_Ev_Ib 32r', 'shr_Ev_Ib 32r', 'sar_Ev_Ib 32r', 'shr_Ev_1 32r', 'sar_Ev_1 32r', 'shl_Ev_CL 32r', 'shr_Ev_CL 32r',
  'rol_Ev_Ib 32r', 'ror_Ev_Ib 32r', 'shr_Ev_Ib 16r',
  // control transfer and conditions
  ...['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'].flatMap((c) => [`j${c}_Jb`, `j${c}_Jz`]),
  'jmp_Jb', 'jmp_Jz', 'call_Jz', 'ret', 'loop_Jb',
  'setb_Eb', 'sete_Eb', 'setne_Eb', 'cmovae_Gv_Ev 32r', 'cmovb_Gv_Ev 32r', 'cmove_Gv_Ev 32r', 'cmovne_Gv_Ev 32r',
];

/** The handler of one HOT_FORMS form. */
function formHandler(form: string): Handler {
  const [key, size] = form.split(' ');
  const index = OPCODE_TABLE.findIndex((e) => e.key === key);
  if (index < 0) throw new Error(`hot-dispatch: no table entry ${key}`);
  const bits = size === undefined ? 32 : Number.parseInt(size, 10);
  return loopHandlerFor(index, bits / 8, size?.endsWith('m') ?? false);
}

/** HOT_HANDLERS[c] is case c's handler; case 0 is "any other": handlers[k]. */
const HOT_HANDLERS: readonly Handler[] = [...new Set(HOT_FORMS.map(formHandler))];
const CASE_OF = new Map<Handler, number>(HOT_HANDLERS.map((h, i) => [h, i + 1]));

/** The case number of a decoded instruction's loop handler (0 when it has none of its own). */
export function hotIndex(handler: Handler): number {
  return CASE_OF.get(handler) ?? 0;
}

/**
 * Runs the instructions of `block` from its start, at IP `ip` (masked by `ipMask`), at most
 * `budget` of them. After each: RIP is the next instruction's before the handler runs (a
 * branch overwrites it), the retired count goes up, and the block is left when work is pending
 * between instructions, the budget is spent, or RIP is not the next instruction's (a branch
 * was taken, a REP resumes). Returns how many instructions completed. A fault propagates to
 * the run loop, which works out the faulting instruction from the retired count.
 */
export type BlockRunner = (cpu: SoftCpu, block: CodeBlock, ip: number, ipMask: number, budget: number) => number;

function buildRunner(): BlockRunner {
  const cases = HOT_HANDLERS.map((_h, i) => `case ${i + 1}: H[${i}](cpu, insn); break;`).join('\n        ');
  const source = `
    return function runBlock(cpu, block, ip, ipMask, budget) {
      const r = cpu.regs;
      const insns = block.insns;
      const handlers = block.handlers;
      const hot = block.hot;
      const n = insns.length;
      for (let k = 0; k < n;) {
        const insn = insns[k];
        ip = (ip + insn.length) & ipMask;
        r.rip = ip;
        switch (hot[k]) {
        ${cases}
        default: handlers[k](cpu, insn);
        }
        cpu.retired++;
        k++;
        if (cpu.pendingEvents !== 0 || k >= budget || r.rip !== ip) return k;
      }
      return n;
    };`;
  allowLargeInlining();
  return new Function('H', source)(HOT_HANDLERS) as BlockRunner;
}

export const runBlock: BlockRunner = buildRunner();
