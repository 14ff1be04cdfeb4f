// Bundles the tsemu command and KVM's vCPU worker, each into one ES module in
// packages/cli/dist/bundle/ (run by `npm run build` and `npm ci`, after `tsc -b`). Node 20
// resolves, reads and compiles the ~300 modules of the compiled packages one by one: ~150 ms
// of tsemu's start-up that one file does not pay. packages/cli/bin/tsemu.js runs the bundle
// only while it is newer than every package's last compile (else the packages themselves), so
// a `tsc -b` without this step never runs stale code. koffi stays outside (a native addon).
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from './bundle-options.mjs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Packages whose module code does costly work at load time that only some commands need:
 * string-width (yargs and cliui, to measure help text) builds an Intl.Segmenter and Unicode
 * property regular expressions, about 24 ms, and only `--help` and usage errors measure text
 * (packages/cli/src/main.ts keeps yargs from rendering help while it parses). Each import of
 * one goes through a small CommonJS shim whose function require()s the package on its first
 * call; esbuild bundles a require()d ES module as a closure it runs then, not at load.
 * `tsemu --version` 0.15-0.16 s instead of 0.17-0.18 s.
 */
const LAZY_PACKAGES = /^string-width$/;
const lazyInit = {
  name: 'lazy-init',
  setup(b) {
    // One shim per importing directory, so that each importer still gets the version it would
    // resolve (cliui has string-width 7 of its own, yargs 8).
    b.onResolve({ filter: LAZY_PACKAGES }, (args) =>
      args.pluginData?.lazyShim === true ? undefined : { path: `${args.path} from ${args.resolveDir}`, namespace: 'lazy-init', pluginData: { name: args.path, resolveDir: args.resolveDir } });
    b.onLoad({ filter: /.*/, namespace: 'lazy-init' }, (args) => ({
      contents: `let f; module.exports = (...a) => (f ??= require(${JSON.stringify(args.pluginData.name)}).default)(...a);`,
      resolveDir: args.pluginData.resolveDir,
      pluginData: { lazyShim: true },
      loader: 'js',
    }));
  },
};

await build({
  absWorkingDir: root,
  entryPoints: {
    tsemu: 'packages/cli/dist/main.js',
    // Beside the bundle, where the bundled kvm-accelerator looks for it (./vcpu-worker.js).
    'vcpu-worker': 'packages/accel-kvm/dist/vcpu-worker.js',
  },
  outdir: 'packages/cli/dist/bundle',
  ...BUNDLE_OPTIONS,
  plugins: [lazyInit],
});
