// Which module the tsemu command runs: the bundle (dist/bundle/tsemu.js, made by
// scripts/bundle.mjs) while it is newer than every package's last compile, else the compiled
// packages (dist/main.js). Plain JavaScript: it runs before anything is built.
import { statSync } from 'node:fs';

const PACKAGES = ['core-cpu', 'devices', 'accel-kvm', 'cli'];

function mtime(url) {
  try {
    return statSync(url).mtimeMs;
  } catch {
    return NaN;
  }
}

/**
 * The entry module's URL for the command at `binUrl` (packages/cli/bin/tsemu.js). `noBundle`
 * (TSEMU_NO_BUNDLE) picks the packages' own modules: their file names and lines in stack traces.
 */
export function tsemuEntry(binUrl, noBundle = false) {
  const main = new URL('../dist/main.js', binUrl);
  const bundle = new URL('../dist/bundle/tsemu.js', binUrl);
  if (noBundle) return main;
  const built = mtime(bundle);
  // NaN (a missing file) fails every comparison: no bundle, or a package never compiled.
  const fresh = PACKAGES.every((p) => mtime(new URL(`../../${p}/dist/.tsbuildinfo`, binUrl)) <= built);
  return fresh ? bundle : main;
}
