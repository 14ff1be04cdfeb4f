#!/usr/bin/env node
// The tsemu command. The TypeScript sources are compiled to dist/ by `npm ci`
// (the workspace's `prepare` script) or `npm run build`.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('tsemu: not built yet; run `npm run build` in the tsemu checkout\n');
  process.exit(2);
}
await import(main.href);
