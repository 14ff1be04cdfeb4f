// Vitest setup: with TSEMU_JIT_THRESHOLD set (npm run test:jit), every SoftCpu the tests build
// gets a JIT at that threshold, so the interpreter's own tests also run translated code; the
// tsemu processes the tests start read the same variable.
import { afterEach } from 'vitest';
import { Jit, SoftCpu } from '@tsemu/core-cpu';

// TSEMU_JIT_BACKEND (wasm or js) picks the translations' backend the same way.
const text = process.env.TSEMU_JIT_THRESHOLD;
if (text !== undefined && text !== '') {
  const threshold = Number(text);
  const backend = process.env.TSEMU_JIT_BACKEND === 'wasm' ? 'wasm' : process.env.TSEMU_JIT_BACKEND === 'js' ? 'js' : undefined;
  SoftCpu.jitForTests = () => new Jit({ threshold, backend });
}

// Between tests, a turn of the event loop: vitest awaits a test's promise with microtasks only,
// so a file of long synchronous tests kept the worker from answering vitest's calls, which fail
// after 60 s ("Timeout calling onTaskUpdate"; string-runs.test.ts took 69 s at threshold 0).
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));
