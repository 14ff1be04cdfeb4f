// The vCPU thread keeps its priority while Node's helper threads get a higher nice value
// (run/thread-priority.ts). Run in a child process so the test runner's threads are untouched.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('../dist/run/thread-priority.js', import.meta.url));

/** Calls deprioritiseHelperThreads() in a fresh node, then reports every thread's nice value. */
const CHILD = `
import { readdirSync, readFileSync } from 'node:fs';
const { deprioritiseHelperThreads, HELPER_THREAD_NICENESS } = await import(process.argv[1]);
const { getPriority } = await import('node:os');
const before = getPriority(process.pid);
const changed = deprioritiseHelperThreads();
const nice = {};
for (const t of readdirSync('/proc/self/task')) {
  const stat = readFileSync('/proc/self/task/' + t + '/stat', 'latin1');
  nice[t] = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}
console.log(JSON.stringify({ main: String(process.pid), changed, nice, before, expected: Math.min(19, before + HELPER_THREAD_NICENESS) }));
`;

describe.runIf(process.platform === 'linux')('helper thread priority', () => {
  it('raises the nice value of every thread but the main one', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', CHILD, MODULE], { encoding: 'utf8' });
    const { main, changed, nice, before, expected } = JSON.parse(out) as { main: string; changed: number; nice: Record<string, number>; before: number; expected: number };
    const helpers = Object.keys(nice).filter((t) => t !== main);
    // Node starts V8's worker pool (four threads by default) before any script runs.
    expect(helpers.length).toBeGreaterThanOrEqual(2);
    expect(changed).toBe(helpers.length);
    expect(nice[main]).toBe(before);
    for (const t of helpers) expect(nice[t]).toBe(expected);
    expect(expected).toBeGreaterThan(before);
  });
});
