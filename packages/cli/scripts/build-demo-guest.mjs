#!/usr/bin/env node
// Assembles the demo guest: packages/cli/guests/demo.asm -> demo.bin (nasm -f bin).
//
// demo.bin is committed so `npx tsemu` works without nasm; this script regenerates it.
//   node packages/cli/scripts/build-demo-guest.mjs           rebuild demo.bin and report
//   node packages/cli/scripts/build-demo-guest.mjs --check   rebuild into a temp file and exit 1
//                                                            if it differs from demo.bin (CI)
// Exit status: 0 ok, 1 demo.bin stale or missing (--check), 2 nasm missing or failed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const guestsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'guests');
const source = 'demo.asm';
const committed = join(guestsDir, 'demo.bin');
const nasm = process.env.NASM ?? 'nasm';
const check = process.argv.includes('--check');

// Returns false (after saying why) when nasm is missing or rejects the source.
function assemble(output) {
  try {
    // cwd = guests dir so the command matches the one documented in demo.asm.
    execFileSync(nasm, ['-f', 'bin', '-o', output, source], { cwd: guestsDir, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (err) {
    const why = err.code === 'ENOENT' ? `${nasm} not found (install it: apt-get install nasm)` : `${nasm} failed`;
    console.error(`build-demo-guest: ${why}`);
    return false;
  }
  return true;
}

function describe(bytes) {
  return `${bytes.length} bytes, sha256 ${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
}

if (check) {
  const scratch = mkdtempSync(join(tmpdir(), 'tsemu-demo-'));
  let status = 0;
  try {
    const fresh = join(scratch, 'demo.bin');
    if (!assemble(fresh)) {
      status = 2;
    } else if (!existsSync(committed)) {
      console.error(`build-demo-guest: ${committed} is missing; run this script without --check`);
      status = 1;
    } else {
      const rebuilt = readFileSync(fresh);
      const current = readFileSync(committed);
      if (rebuilt.equals(current)) {
        console.log(`build-demo-guest: demo.bin is up to date (${describe(current)})`);
      } else {
        console.error(
          `build-demo-guest: demo.bin is stale (committed ${describe(current)}, demo.asm gives ${describe(rebuilt)}); ` +
            'run node packages/cli/scripts/build-demo-guest.mjs and commit demo.bin',
        );
        status = 1;
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  process.exitCode = status;
} else if (assemble('demo.bin')) {
  console.log(`build-demo-guest: wrote ${committed} (${describe(readFileSync(committed))})`);
} else {
  process.exitCode = 2;
}
