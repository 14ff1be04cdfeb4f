/**
 * Atomics.waitAsync (ES2024; in Node since 16) with its type, which TypeScript's ES2022
 * lib does not declare. The main thread must never block, so it waits for a word a
 * worker changes with this and gets a promise instead. A pending waitAsync does not keep
 * Node's event loop alive.
 */
type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

type WaitAsync = (array: Int32Array, index: number, value: number, timeoutMs?: number) => WaitAsyncResult;

const waitAsyncImpl = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/** Resolves once words[index] is no longer `value` (or at once if it already is not). */
export async function waitForChange(words: Int32Array, index: number, value: number, timeoutMs?: number): Promise<void> {
  if (!waitAsyncImpl) throw new Error('Atomics.waitAsync is not available in this Node.js');
  const r = waitAsyncImpl(words, index, value, timeoutMs);
  if (r.async) await r.value;
}
