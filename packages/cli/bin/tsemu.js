#!/usr/bin/env node
// The tsemu command. The TypeScript sources are compiled to dist/ by `npm ci`
// (the workspace's `prepare` script) or `npm run build`, which also bundle the command into
// dist/bundle/ (scripts/bundle.mjs): one file starts in about half the time of the ~300
// modules it is made of. The bundle runs only while it is newer than every package's last
// compile (entry.js), so a plain `tsc -b` after an edit runs the edited code.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { tsemuEntry } from './entry.js';
import { kvmDeviceUsable, missingNodeOptions, relaunchWith } from './relaunch.js';

// On a 2-core host the software CPU first becomes `node --v8-pool-size=1 tsemu ...`
// (relaunch.js says why).
const options = missingNodeOptions({
  cores: availableParallelism(), execArgv: process.execArgv, env: process.env, args: process.argv.slice(2),
  kvmUsable: () => kvmDeviceUsable(process.env), ipc: process.channel !== undefined,
});
if (options.length > 0) relaunchWith(options);

const entry = tsemuEntry(import.meta.url, Boolean(process.env.TSEMU_NO_BUNDLE));
if (!existsSync(entry)) {
  process.stderr.write('tsemu: not built yet; run `npm run build` in the tsemu checkout\n');
  process.exit(2);
}
await import(entry.href);
