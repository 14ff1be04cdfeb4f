// Test support: assemble guest sources with nasm, cached, and skip (or fail in CI) without it.
//
// Guests under test/guests/ and bench/guests/ `%include "lib/..."`; nasm only searches the
// directories named with -I (not the source's own), so assemble() passes the source's
// directory, its lib/, and the shared test/guests/ (+ lib/) that bench guests reuse.
// Output is cached in os.tmpdir()/tsemu-nasm/ under a hash of everything that decides the
// bytes: the nasm version, the source, every file it includes (recursively) and the defines.
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nasm executable; NASM=/path/to/nasm overrides. */
const NASM = process.env.NASM ?? 'nasm';

/** test/guests/: the shared lib/ lives here, bench guests include it too. */
export const SHARED_GUESTS_DIR = fileURLToPath(new URL('../guests/', import.meta.url));

export const NASM_CACHE_DIR = join(tmpdir(), 'tsemu-nasm');

// nasm accepts identifiers made of letters, digits, _ $ # @ ~ . ? (not starting with a digit).
const DEFINE_NAME = /^[A-Za-z_.?][A-Za-z0-9_$#@~.?]*$/;
const INCLUDE_DIRECTIVE = /^\s*%include\s+["<]([^">]+)[">]/gim;

let nasmVersion: string | null | undefined;

/** `nasm -v` output, or null when nasm cannot be run. Asked once per process. */
function probeNasm(): string | null {
  if (nasmVersion === undefined) {
    const probe = spawnSync(NASM, ['-v'], { encoding: 'utf8' });
    nasmVersion = probe.status === 0 ? probe.stdout.trim() : null;
  }
  return nasmVersion;
}

export function nasmAvailable(): boolean {
  return probeNasm() !== null;
}

/**
 * True when a test should be skipped because `condition` does not hold; the reason is printed.
 * Under CI=true a missing prerequisite is a failure, so this throws instead of skipping.
 */
export function skipUnless(condition: boolean, reason: string): boolean {
  if (condition) return false;
  if (process.env.CI === 'true') {
    throw new Error(`${reason} (CI=true: required prerequisite, not skipping)`);
  }
  console.warn(`skipping: ${reason}`);
  return true;
}

/** True when the tool is there; otherwise skipUnless's warning (or, under CI, its Error). */
export function requireTool(name: string, available: boolean): boolean {
  return !skipUnless(available, `${name} is not installed`);
}

function includeDirs(sourceDir: string): string[] {
  const dirs = [sourceDir, join(sourceDir, 'lib'), SHARED_GUESTS_DIR, join(SHARED_GUESTS_DIR, 'lib')];
  // nasm prepends -I prefixes verbatim, so each must end with a separator.
  return [...new Set(dirs.map((d) => resolve(d) + '/'))];
}

/** Where nasm (run with cwd = sourceDir) would find an %include: cwd first, then each -I. */
function findInclude(name: string, sourceDir: string, dirs: string[]): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  for (const prefix of [sourceDir + '/', ...dirs]) {
    const candidate = prefix + name;
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Feeds the source and, depth first, every file it includes into the hash (each once). */
function hashSourceTree(hash: ReturnType<typeof createHash>, file: string, sourceDir: string, dirs: string[], seen: Set<string>): void {
  if (seen.has(file)) return;
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  hash.update(`file ${file}\n${text.length}\n`).update(text);
  for (const match of text.matchAll(INCLUDE_DIRECTIVE)) {
    const found = findInclude(match[1], sourceDir, dirs);
    // An include nasm cannot find either makes it fail or sits in a disabled %if branch;
    // both are decided by files already hashed.
    if (found !== undefined) hashSourceTree(hash, found, sourceDir, dirs, seen);
  }
}

function runNasm(args: string[], cwd: string): Promise<void> {
  return new Promise((done, fail) => {
    execFile(NASM, args, { cwd, encoding: 'utf8' }, (err, _stdout, stderr) => {
      if (err === null) {
        done();
      } else if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        fail(new Error(`${NASM} not found: install nasm (apt-get install nasm) or set NASM`));
      } else {
        fail(new Error(`nasm ${args.join(' ')} failed:\n${stderr.trim()}`));
      }
    });
  });
}

/**
 * Assembles `source` (a path to an .asm file) with `nasm -f bin` and returns the image.
 * `defines` become `-DNAME=value`. Results are cached; a changed source, include, define or
 * nasm version gives a new cache entry.
 */
export async function assemble(source: string, defines: Record<string, string | number> = {}): Promise<Uint8Array> {
  const version = probeNasm();
  if (version === null) {
    throw new Error(`${NASM} not found: install nasm (apt-get install nasm) or set NASM`);
  }
  const sourcePath = resolve(source);
  const sourceDir = dirname(sourcePath);
  const dirs = includeDirs(sourceDir);

  const defineArgs = Object.keys(defines)
    .sort()
    .map((name) => {
      if (!DEFINE_NAME.test(name)) throw new Error(`assemble: ${JSON.stringify(name)} is not a nasm identifier`);
      return `-D${name}=${defines[name]}`;
    });

  const hash = createHash('sha256');
  hash.update(`${version}\n${defineArgs.join('\n')}\n${dirs.join('\n')}\n`);
  hashSourceTree(hash, sourcePath, sourceDir, dirs, new Set());
  const cached = join(NASM_CACHE_DIR, `${hash.digest('hex').slice(0, 32)}.bin`);
  if (existsSync(cached)) return new Uint8Array(readFileSync(cached));

  mkdirSync(NASM_CACHE_DIR, { recursive: true });
  // Parallel test workers may build the same image: write privately, then rename (atomic).
  const scratch = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await runNasm(['-f', 'bin', ...dirs.map((d) => `-I${d}`), ...defineArgs, '-o', scratch, sourcePath], sourceDir);
    renameSync(scratch, cached);
  } finally {
    rmSync(scratch, { force: true });
  }
  return new Uint8Array(readFileSync(cached));
}
