// kvm-unit-tests (gitlab.com/kvm-unit-tests/kvm-unit-tests, mirrored on GitHub) run through the
// suite's own runner, ./run_tests.sh, with QEMU= naming a wrapper around tsemu and ACCEL=tcg.
// The suite is built locally (docs/kvm-unit-tests.md: ./configure --arch=i386 && make), never
// committed; the test finds it at $KVM_UNIT_TESTS_DIR or ../kvm-unit-tests beside the checkout
// and says why it skips otherwise.
//
// tsemu has no fw_cfg, so the runner's environment file gets NR_CPUS=1 and MEMLIMIT=0 through
// KVM_UNIT_TESTS_ENV (the suite's own way to add variables to it).
//
// PASSING is the issue's list, all asserted: realmode, setjmp, cmpxchg8b, taskswitch, eventinj,
// smap, umip and tsc (i386 build).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { TSEMU_BIN } from '../support/tsemu-process.js';

const PASSING = ['realmode', 'setjmp', 'cmpxchg8b', 'taskswitch', 'eventinj', 'smap', 'umip', 'tsc'];

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const suiteDir = resolve(process.env.KVM_UNIT_TESTS_DIR ?? join(REPO_ROOT, '..', 'kvm-unit-tests'));

/** Why the suite cannot run here, or null when it can. */
function unavailable(): string | null {
  const config = join(suiteDir, 'config.mak');
  if (!existsSync(config)) return `no built kvm-unit-tests at ${suiteDir} (set $KVM_UNIT_TESTS_DIR; docs/kvm-unit-tests.md)`;
  if (!/^ARCH=i386$/m.test(readFileSync(config, 'utf8'))) return `${suiteDir} is not an i386 build (./configure --arch=i386)`;
  const missing = PASSING.filter((t) => !existsSync(join(suiteDir, 'x86', `${t}.flat`)));
  if (missing.length > 0) return `${suiteDir} lacks ${missing.join(', ')} (run make)`;
  return null;
}

const reason = unavailable();
if (reason !== null) console.log(`kvm-unit-tests: skipped, ${reason}`);

/** run_tests.sh's result lines ("PASS realmode (127 tests)"), colour codes removed. */
function parseRunTestsOutput(text: string): Map<string, string> {
  const results = new Map<string, string>();
  for (const line of text.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const m = /^(PASS|FAIL|SKIP) (\S+)/.exec(line);
    if (m) results.set(m[2], m[1]);
  }
  return results;
}

describe('parseRunTestsOutput', () => {
  it("reads run_tests.sh's coloured PASS/FAIL/SKIP lines", () => {
    const out = '\x1b[32mPASS\x1b[0m setjmp (10 tests)\n\x1b[31mFAIL\x1b[0m sieve (timeout; duration=90s)\n\x1b[33mSKIP\x1b[0m smap (0 tests)\n';
    expect([...parseRunTestsOutput(out)]).toEqual([['setjmp', 'PASS'], ['sieve', 'FAIL'], ['smap', 'SKIP']]);
  });
});

describe.skipIf(reason !== null)('kvm-unit-tests x86 (i386) under tsemu --accel=tcg', () => {
  const work = mkdtempSync(join(tmpdir(), 'tsemu-kut-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it(`passes ${PASSING.join(', ')} through ./run_tests.sh`, async () => {
    const wrapper = join(work, 'qemu-system-i386');
    writeFileSync(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${TSEMU_BIN}" "$@"\n`);
    chmodSync(wrapper, 0o755);
    const envFile = join(work, 'tsemu.env');
    writeFileSync(envFile, 'NR_CPUS=1\nMEMLIMIT=0\n');
    // Asynchronous: a synchronous child would block vitest's worker for minutes.
    const stdout = await new Promise<string>((done, fail) => {
      const child = spawn('./run_tests.sh', PASSING, {
        cwd: suiteDir,
        env: { ...process.env, QEMU: wrapper, ACCEL: 'tcg', KVM_UNIT_TESTS_ENV: envFile, TIMEOUT: '120s' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.on('error', fail);
      child.on('close', () => done(text));
    });
    const results = parseRunTestsOutput(stdout);
    console.log(`kvm-unit-tests: ${[...results].map(([t, r]) => `${t} ${r}`).join(', ')}`);
    for (const test of PASSING) expect({ test, result: results.get(test) }).toEqual({ test, result: 'PASS' });
  }, 25 * 60_000);
});
