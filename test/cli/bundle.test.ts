// The bundled tsemu command (scripts/bundle.mjs) and how packages/cli/bin picks it.
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript (it runs before anything is built), without declarations.
import { tsemuEntry } from '../../packages/cli/bin/entry.js';
import { skipUnless } from '../support/nasm.js';
import { kvmUsable, runTsemu } from '../support/tsemu-process.js';

const PACKAGES = ['core-cpu', 'devices', 'accel-kvm', 'cli'];
const BUNDLE = fileURLToPath(new URL('../../packages/cli/dist/bundle/tsemu.js', import.meta.url));

describe('the command picks its entry module', () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** A checkout's layout in a temporary directory: each package's build stamp and the bundle, with mtimes in seconds. */
  function layout(stamps: Record<string, number>, bundle: number | null): URL {
    root = mkdtempSync(join(tmpdir(), 'tsemu-entry-'));
    for (const p of PACKAGES) {
      const dist = join(root, 'packages', p, 'dist');
      mkdirSync(dist, { recursive: true });
      writeFileSync(join(dist, '.tsbuildinfo'), '{}');
      utimesSync(join(dist, '.tsbuildinfo'), stamps[p] ?? 1000, stamps[p] ?? 1000);
    }
    mkdirSync(join(root, 'packages/cli/bin'), { recursive: true });
    if (bundle !== null) {
      mkdirSync(join(root, 'packages/cli/dist/bundle'), { recursive: true });
      writeFileSync(join(root, 'packages/cli/dist/bundle/tsemu.js'), '');
      utimesSync(join(root, 'packages/cli/dist/bundle/tsemu.js'), bundle, bundle);
    }
    return pathToFileURL(join(root, 'packages/cli/bin/tsemu.js'));
  }
  const name = (u: URL) => fileURLToPath(u).slice(root.length);

  it('runs the bundle made after the last compile of every package', () => {
    expect(name(tsemuEntry(layout({}, 2000)))).toBe('/packages/cli/dist/bundle/tsemu.js');
  });

  it('runs the packages when any one was compiled after the bundle, when there is no bundle, and when told to', () => {
    for (const p of PACKAGES) expect(name(tsemuEntry(layout({ [p]: 3000 }, 2000)))).toBe('/packages/cli/dist/main.js');
    expect(name(tsemuEntry(layout({}, null)))).toBe('/packages/cli/dist/main.js');
    expect(name(tsemuEntry(layout({}, 2000), true))).toBe('/packages/cli/dist/main.js');
  });
});

describe('the bundle', () => {
  const built = () => !skipUnless(existsSync(BUNDLE), `${BUNDLE} is missing (npm run build makes it)`);

  it('boots the demo guest under the software CPU', async () => {
    if (!built()) return;
    const r = await runBundle(['--accel=tcg']);
    expect(r.stdout).toContain('fib(90) = 0x27f80ddaa1ba7878');
    expect(r.stdout).toContain('demo guest done');
    expect(r.status).toBe(0);
  });

  it('prints its help, whose column widths load string-width on first use (scripts/bundle.mjs defers it)', async () => {
    if (!built()) return;
    const r = await runBundle(['--help']);
    expect(r.stdout).toContain('boot a PC guest');
    expect(r.stdout).toMatch(/--help +Show help +\[boolean\]/);
    expect(r.status).toBe(0);
  });

  it('boots the demo guest under KVM, with the vCPU worker bundled beside it', async () => {
    if (!built() || !kvmUsable()) return;
    const r = await runBundle(['--accel=kvm']);
    expect(r.stdout).toContain('fib(90) = 0x27f80ddaa1ba7878');
    expect(r.status).toBe(0);
  });
});

/** The bundle run directly (not through the bin's choice), as a user's `tsemu` would run it. */
function runBundle(args: string[]) {
  return runTsemu(args, { entry: BUNDLE });
}
