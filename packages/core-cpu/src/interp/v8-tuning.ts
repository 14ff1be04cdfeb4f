/**
 * V8 settings the software CPU depends on for speed. Both the interpreter's block runner
 * (hot-dispatch.ts: a switch with a call site per frequent handler) and the JIT's translations
 * (one large function per block) are functions that should have many small functions inlined
 * into them, and V8's defaults stop far short of that: 920 bytes of callee bytecode per
 * function, 4,600 at most. Raising the budget made the JIT's multiply-accumulate benchmark
 * ~1.5x faster, and the interpreter's switch needs it. Larger budgets (60,000) made the JIT's
 * Linux boot 3.5 s slower (bench/, measured). The flags only change V8's optimisation
 * heuristics, and are set once, before either is first compiled.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function allowLargeInlining(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=20000');
  setFlagsFromString('--max-inlined-bytecode-size-absolute=20000');
  setFlagsFromString('--max-optimized-bytecode-size=1000000');
}
