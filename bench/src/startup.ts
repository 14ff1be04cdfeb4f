/**
 * tsemu's start-up: the wall time of `tsemu --version` (loading and compiling the command's
 * code, nothing of a machine), run through the bundle (packages/cli/dist/bundle, what the
 * command runs after `npm run build`) and through the packages' own modules
 * (TSEMU_NO_BUNDLE=1), beside `node -e 0` (Node's own start). Each a median of ROUNDS runs,
 * alternated so load on the host falls on all three alike.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TSEMU = fileURLToPath(new URL('../../packages/cli/bin/tsemu.js', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../packages/cli/dist/bundle/tsemu.js', import.meta.url));
const ROUNDS = 11;

function wallMs(args: string[], env: Record<string, string> = {}): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export function runStartupBench(): string[] {
  if (!existsSync(BUNDLE)) return [`  skipped: ${BUNDLE} is missing (npm run build makes it)`];
  const node: number[] = [];
  const bundled: number[] = [];
  const modules: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    node.push(wallMs(['-e', '0']));
    bundled.push(wallMs([BUNDLE, '--version']));
    modules.push(wallMs([TSEMU, '--version'], { TSEMU_NO_BUNDLE: '1' }));
  }
  return [
    `  median wall ms of ${ROUNDS} runs each`,
    `  node -e 0                                   ${median(node).toFixed(0).padStart(5)}`,
    `  tsemu --version, the bundle                 ${median(bundled).toFixed(0).padStart(5)}`,
    `  tsemu --version, the packages' modules      ${median(modules).toFixed(0).padStart(5)}`,
  ];
}
