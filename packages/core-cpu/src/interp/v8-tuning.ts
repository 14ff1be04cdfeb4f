/**
 * V8 settings the software CPU depends on for speed. Both the interpreter's block runner
 * (hot-dispatch.ts: a switch with a call site per frequent handler) and the JIT's translations
 * (one large function per block) are functions that should have many small functions inlined
 * into them, and V8's defaults stop far short of that: 920 bytes of callee bytecode per
 * function (4,600 at most), and no inlining at call sites run less than 0.15 times per call of
 * the function. Raising the JIT's budget made the multiply-accumulate benchmark ~1.5x faster;
 * the interpreter's switch depends on it entirely (bench/, measured). The flags only change
 * V8's optimisation heuristics, and are set once, before either is first compiled.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

export function allowLargeInlining(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=60000');
  setFlagsFromString('--max-inlined-bytecode-size-absolute=60000');
  setFlagsFromString('--min-inlining-frequency=0.005');
  setFlagsFromString('--max-optimized-bytecode-size=1000000');
}
