// The run loop allocates nothing per pass (V8's sampling heap profiler, collected objects included).
import { Session } from 'node:inspector';
import { describe, expect, it } from 'vitest';
import { asm32, le32, machine } from './jit-machine.js';

function post<T>(session: Session, method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))));
}

interface ProfileNode {
  callFrame: { functionName: string };
  selfSize: number;
  children?: ProfileNode[];
}

/** Bytes the sampled profile puts in functions named `name` (inlined callees included: V8 samples physical frames). */
function bytesIn(node: ProfileNode, name: string): number {
  let sum = node.callFrame.functionName === name ? node.selfSize : 0;
  for (const child of node.children ?? []) sum += bytesIn(child, name);
  return sum;
}

describe('the run loop', () => {
  it('allocates nothing per pass: a closure made only when a block is translated captures no loop variable', async () => {
    // A loop of three instructions entered through the run loop once per run() call: each call
    // is one pass of execute() into the loop's WebAssembly translation.
    const code = asm32([0xb9, ...le32(0x7fffffff), 'loop', 0x01, 0xc8, 0x49, ['jne', 'loop'], 0xf4]);
    const m = machine(code, 0, false, null, 'wasm');
    const calls = 200_000;
    for (let i = 0; i < calls; i++) m.cpu.run(3); // warm-up: V8 optimises the run loop
    const session = new Session();
    session.connect();
    await post(session, 'HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true });
    for (let i = 0; i < calls; i++) m.cpu.run(3);
    const { profile } = await post<{ profile: { head: ProfileNode } }>(session, 'HeapProfiler.stopSampling');
    session.disconnect();
    expect(m.cpu.jit!.counters.wasm).toBeGreaterThan(0);
    // Before the closure moved out of execute(), a context object per pass: about 80 bytes.
    expect(bytesIn(profile.head, 'execute') / calls).toBeLessThan(8);
  });
});
