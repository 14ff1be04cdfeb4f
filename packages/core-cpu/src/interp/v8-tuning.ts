/**
 * V8 settings the software CPU depends on for speed, chosen for what executes the guest.
 *
 * The interpreter's block runner (hot-dispatch.ts: a switch with a call site per frequent
 * handler) and JavaScript translations (one large function per block) should have many small
 * functions inlined into them, and V8's defaults stop far short of that: 920 bytes of callee
 * bytecode per function, 4,600 at most. Raising the budget made the JS backend's
 * multiply-accumulate benchmark ~1.5x faster, and the interpreter's xz-decompressor rate ~15%
 * faster (Linux boot, side by side: 32/30 against 27/25 M/s). Larger budgets (60,000) made the
 * JIT's Linux boot 3.5 s slower.
 *
 * The budget is one setting for every function in the process, the JIT's own code generator
 * included, and with the WebAssembly backend that is where it costs: TurboFan took 2.4 s per
 * compile of generateWasmRegion with everything inlined, and the JIT's Linux boot spent about
 * 20 s of background CPU in TurboFan, which on a 2-core host competes with the vCPU thread.
 * With V8's own budgets under the WebAssembly JIT the boot used 10-12 s less CPU and reached
 * /init in 27.7/32.3/27.2 s against 33.2/31.4/32.7 s (alternating runs, one hour). So the large
 * budget is set while an interpreter-only or JavaScript-backend CPU runs, and V8's defaults
 * while a WebAssembly-backend one does. The flags only steer V8's optimisation heuristics and
 * are read when a function is optimised: code optimised before a switch keeps its inlining.
 *
 * `--max-optimized-bytecode-size` is raised in both cases: long JavaScript translations exceed
 * V8's 60 KB limit and would otherwise never leave V8's bytecode interpreter.
 */
import { setFlagsFromString } from 'node:v8';

/** V8's defaults (V8 11, Node 20): restored when a WebAssembly-backend CPU runs. */
const V8_CUMULATIVE = 920;
const V8_ABSOLUTE = 4600;
const LARGE_BUDGET = 20000;

let large: boolean | null = null;

/** Sets V8's inlining budget for what runs next: large for the interpreter and JS translations. */
export function tuneInlining(largeInlining: boolean): void {
  if (large === largeInlining) return;
  if (large === null) setFlagsFromString('--max-optimized-bytecode-size=1000000');
  large = largeInlining;
  setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${largeInlining ? LARGE_BUDGET : V8_CUMULATIVE}`);
  setFlagsFromString(`--max-inlined-bytecode-size-absolute=${largeInlining ? LARGE_BUDGET : V8_ABSOLUTE}`);
}

let branchHints = false;

/**
 * Lets V8 read the WebAssembly translations' branch hints (jit/wasm/code.ts: a memory access's
 * slow path, the exits for pending work, are unlikely). TurboFan then places those arms out of
 * line, and spills the values a slow path's host call needs spilled there instead of on the hot
 * path: the xz decompressor ran at 578-632 M/s instead of 495-499 (Linux boot, alternating
 * runs). The feature is behind a flag in V8 11-12 (Node 20-22); it only orders and defers code,
 * and V8 reads the flag when it compiles a module, so setting it before the first is enough.
 */
export function enableWasmBranchHints(): void {
  if (branchHints) return;
  branchHints = true;
  const major = Number(process.versions.v8.split('.')[0]);
  if (major >= 10 && major <= 13) setFlagsFromString('--experimental-wasm-branch-hinting');
}
