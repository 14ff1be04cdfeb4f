// Bundles the tsemu command and KVM's vCPU worker, each into one ES module in
// packages/cli/dist/bundle/ (run by `npm run build` and `npm ci`, after `tsc -b`). Node 20
// resolves, reads and compiles the ~300 modules of the compiled packages one by one: ~150 ms
// of tsemu's start-up that one file does not pay. packages/cli/bin/tsemu.js runs the bundle
// only while it is newer than every package's last compile (else the packages themselves), so
// a `tsc -b` without this step never runs stale code. koffi stays outside (a native addon).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
await build({
  absWorkingDir: root,
  entryPoints: {
    tsemu: 'packages/cli/dist/main.js',
    // Beside the bundle, where the bundled kvm-accelerator looks for it (./vcpu-worker.js).
    'vcpu-worker': 'packages/accel-kvm/dist/vcpu-worker.js',
  },
  outdir: 'packages/cli/dist/bundle',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  minifyWhitespace: true,
  legalComments: 'none',
  logLevel: 'warning',
});
