// The esbuild options tsemu's bundle is built with (scripts/bundle.mjs), shared with
// scripts/cache-misses.mjs --bundled, which counts the interpreter bench built the same way:
// what V8 compiles depends on them (see minifySyntax).
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi'],
  minifyWhitespace: true,
  // Puts each exported constant's value where another module uses it (esbuild turns a
  // module's `const` into `var`, which V8 must load and check on every use: 3-4 machine
  // instructions per constant in the interpreter's handlers). Identifiers keep their names.
  // Linux boot to the first console line under the interpreter alone, in turn with the
  // bundle without it: 30.4/31.6 s against 31.4/32.0 s. It inlines only constants of modules
  // without imports: the hot paths' constants elsewhere are const enums, which tsc writes in
  // (interp/protected/segment-checks.ts, SegmentTest).
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
};
