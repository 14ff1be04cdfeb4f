/**
 * The JIT's policy and bookkeeping: which decoded blocks get translated (a hotness
 * threshold on interpreted runs), the counters `--stats` reports, and the hook `--trace=jit`
 * prints from. Translation itself is block-compiler.ts; the run loop (interp/soft-cpu.ts)
 * enters translations and falls back to interpreting a block when a translation may not run
 * (another entry IP, fewer instructions left in the burst than the block holds).
 */
import type { CodeBlock } from '../interp/decode-cache.js';
import { compileBlock, type CompiledBlock } from './block-compiler.js';

/** Interpreted runs of a block before it is translated (QEMU translates at once; V8 needs warm code). */
export const DEFAULT_JIT_THRESHOLD = 64;

export interface JitOptions {
  /** Interpreted runs before translation: 0 translates every block the first time it runs. */
  threshold?: number;
  /** `--trace=jit`: called with each new translation and the block it came from. */
  onCompile?: ((compiled: CompiledBlock, block: CodeBlock) => void) | null;
}

export interface JitCounters {
  /** Blocks translated. */
  compiled: number;
  /** Instructions translated, and how many of them inline (the rest call their handler). */
  instructions: number;
  inlined: number;
  /** Entries into translated code (the translation cache's hits). */
  entries: number;
  /** Host time spent generating and compiling, ns. */
  compileNs: number;
}

export class Jit {
  readonly threshold: number;
  readonly counters: JitCounters = { compiled: 0, instructions: 0, inlined: 0, entries: 0, compileNs: 0 };
  private readonly onCompile: ((compiled: CompiledBlock, block: CodeBlock) => void) | null;

  constructor(options: JitOptions = {}) {
    const threshold = options.threshold ?? DEFAULT_JIT_THRESHOLD;
    if (!Number.isInteger(threshold) || threshold < 0) throw new RangeError(`JIT threshold ${threshold} is not a non-negative integer`);
    this.threshold = threshold;
    this.onCompile = options.onCompile ?? null;
  }

  /** Translates `block` for entry at IP `ip` and attaches the translation to it. */
  compile(block: CodeBlock, ip: number): CompiledBlock {
    const started = process.hrtime.bigint();
    const compiled = compileBlock(block, ip);
    block.compiled = compiled;
    const c = this.counters;
    c.compileNs += Number(process.hrtime.bigint() - started);
    c.compiled++;
    c.instructions += block.insns.length;
    c.inlined += compiled.inlined;
    this.onCompile?.(compiled, block);
    return compiled;
  }
}
