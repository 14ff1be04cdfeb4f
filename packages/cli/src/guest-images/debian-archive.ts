/**
 * Downloads Debian i386 packages without touching the host's dpkg configuration: apt runs
 * with a private state directory (package lists, cache) and APT::Architecture=i386, so no
 * `dpkg --add-architecture` is needed and nothing is installed. Packages are unpacked with
 * `dpkg-deb -x`. This needs a Debian-family host with apt and network access to a Debian
 * mirror; on other systems, point tsemu at your own kernel and initramfs (docs/linux-guests.md).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export class GuestFetchError extends Error {}

export class DebianArchive {
  private readonly options: string[];

  constructor(private readonly stateDir: string, readonly architecture = 'i386') {
    for (const d of ['lists/partial', 'cache/archives/partial', 'debs']) mkdirSync(join(stateDir, d), { recursive: true });
    this.options = [
      '-o', `APT::Architecture=${architecture}`,
      '-o', `APT::Architectures::=${architecture}`,
      '-o', `Dir::State::Lists=${join(stateDir, 'lists')}`,
      '-o', `Dir::Cache=${join(stateDir, 'cache')}`,
      '-o', 'Dir::State::status=/dev/null',
      '-o', 'Debug::NoLocking=1',
      '-q',
    ];
  }

  /** Fetches the package lists for the private state (apt-get update). */
  update(): void {
    // apt exits 100 when one index of several fails; the ones we need may still be there, so
    // failures surface at the policy/download step with the package's name.
    this.run('apt-get', ['update'], { allowFailure: true });
  }

  /** The candidate version of a package, or throws naming it. */
  candidate(pkg: string): string {
    const out = this.run('apt-cache', ['policy', pkg]);
    const m = /Candidate:\s*(\S+)/.exec(out);
    if (!m || m[1] === '(none)') throw new GuestFetchError(`Debian package '${pkg}' (${this.architecture}) was not found in the package lists`);
    return m[1];
  }

  /** The first dependency of a metapackage (linux-image-686 -> linux-image-6.1.0-N-686). */
  firstDependency(pkg: string): string {
    const out = this.run('apt-cache', ['depends', pkg]);
    const m = /Depends:\s*(\S+)/.exec(out);
    if (!m) throw new GuestFetchError(`Debian package '${pkg}' names no dependency`);
    return m[1].replace(/:i386$/, '');
  }

  /** Downloads a package's .deb into stateDir/debs; returns its path. */
  download(pkg: string): string {
    const dir = join(this.stateDir, 'debs');
    this.run('apt-get', ['download', pkg], { cwd: dir });
    const name = readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith(`_${this.architecture}.deb`));
    if (!name) throw new GuestFetchError(`apt-get download ${pkg} left no .deb in ${dir}`);
    return join(dir, name);
  }

  /** Unpacks a .deb's files into `dir`. */
  static extract(deb: string, dir: string): void {
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync('dpkg-deb', ['-x', deb, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new GuestFetchError(`dpkg-deb -x ${deb} failed: ${(err as Error).message}`);
    }
  }

  private run(cmd: string, args: string[], opts: { cwd?: string; allowFailure?: boolean } = {}): string {
    try {
      return execFileSync(cmd, [...this.options, ...args], { cwd: opts.cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
      if (e.code === 'ENOENT') throw new GuestFetchError(`'${cmd}' was not found: fetching Debian guests needs apt (a Debian-family host)`);
      if (opts.allowFailure) return e.stdout ?? '';
      throw new GuestFetchError(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-2).join(' ')}`);
    }
  }
}
