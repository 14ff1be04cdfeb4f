/**
 * `tsemu run` options (tsemu's own spelling) and their translation into a VmConfig.
 * QEMU spellings are rewritten into these by normalizeQemuArgs before yargs sees them.
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import type { Argv } from 'yargs';
import { ConfigError } from '../config/errors.js';
import { parseInteger, parseMemorySize } from '../config/size.js';
import { validateVmConfig, type SerialConfig, type VmConfig } from '../config/vm-config.js';

export const DEFAULT_DEBUG_EXIT_PORT = 0xf4;

export function declareRunOptions<T>(y: Argv<T>) {
  return y
    .option('accel', { type: 'string', choices: ['kvm', 'tcg', 'auto'], default: 'auto', describe: 'accelerator: kvm (/dev/kvm), tcg (software CPU), auto (kvm when usable)' })
    .option('memory', { type: 'string', default: '128M', describe: 'guest RAM (bare number = MiB; K/M/G suffixes); QEMU: -m' })
    .option('smp', { type: 'string', default: '1', describe: 'number of vCPUs (1 for now)' })
    .option('kernel', { type: 'string', describe: 'kernel to boot: Linux bzImage or Multiboot (detected as QEMU -kernel does)' })
    .option('initrd', { type: 'string', describe: 'initrd for Linux, or comma-separated Multiboot modules ("file args" each)' })
    .option('append', { type: 'string', default: '', describe: 'kernel command line' })
    .option('flat', { type: 'string', describe: 'load a flat binary instead of a kernel (see --flat-address, --flat-mode)' })
    .option('flat-address', { type: 'string', default: '0x7c00', describe: 'guest-physical load address of --flat' })
    .option('flat-mode', { type: 'string', choices: ['real', 'protected'], default: 'real', describe: 'CPU mode at the --flat entry' })
    .option('serial', { type: 'string', default: 'stdio', describe: 'COM1 backend: stdio, file:PATH, none' })
    .option('reboot', { type: 'boolean', default: true, describe: 'reset on triple fault or reboot; --no-reboot exits instead' })
    .option('debug-exit', { type: 'string', describe: 'add isa-debug-exit at PORT (default 0xf4): writing v exits with status (v<<1)|1' })
    .option('debug-exit-size', { type: 'string', default: '4', describe: 'isa-debug-exit register size in bytes (1, 2, 4)' })
    .option('irqchip', { type: 'string', choices: ['kernel', 'user'], default: 'kernel', describe: "kvm: KVM's in-kernel PIC/PIT/IOAPIC, or tsemu's own models (user)" })
    .option('trace', { type: 'string', array: true, default: [] as string[], describe: 'narrate on stderr: kvm (the ioctl flow and every exit)' })
    .option('stats', { type: 'boolean', default: false, describe: 'print a table of exits by reason and port/region at exit (stderr)' });
}

export interface RunArgs {
  accel: string;
  memory: string;
  smp: string;
  kernel?: string;
  initrd?: string;
  append: string;
  flat?: string;
  flatAddress: string;
  flatMode: string;
  serial: string;
  reboot: boolean;
  debugExit?: string;
  debugExitSize: string;
  irqchip: string;
  trace: string[];
  stats: boolean;
}

function parseSerial(text: string): SerialConfig {
  if (text === 'stdio') return { kind: 'stdio' };
  if (text === 'none' || text === 'null') return { kind: 'none' };
  if (text.startsWith('file:') && text.length > 5) return { kind: 'file', path: text.slice(5) };
  throw new ConfigError(`invalid --serial '${text}' (stdio, file:PATH, none)`);
}

function checkReadable(path: string, what: string): void {
  if (!existsSync(path)) throw new ConfigError(`${what} '${path}' does not exist`);
}

export function runArgsToConfig(args: RunArgs): VmConfig {
  const memoryBytes = parseMemorySize(args.memory);
  if (memoryBytes === 0) throw new ConfigError('memory size must not be zero');
  const hostBytes = totalmem();
  if (memoryBytes > hostBytes) {
    throw new ConfigError(`memory size ${args.memory} is more than this host has (${Math.floor(hostBytes / 2 ** 20)} MiB)`);
  }
  if (args.kernel !== undefined && args.flat !== undefined) throw new ConfigError('--kernel and --flat cannot be used together');
  let kernel: VmConfig['kernel'] = { kind: 'demo' };
  if (args.kernel !== undefined) {
    checkReadable(args.kernel, 'kernel');
    kernel = { kind: 'file', path: args.kernel };
  } else if (args.flat !== undefined) {
    checkReadable(args.flat, 'flat binary');
    kernel = { kind: 'flat', path: args.flat, address: parseInteger(args.flatAddress, '--flat-address'), mode: args.flatMode as 'real' | 'protected' };
  }
  const initrd = args.initrd ? args.initrd.split(',').filter((s) => s !== '') : [];
  for (const module of initrd) checkReadable(module.split(' ')[0], 'initrd');
  const debugExit = args.debugExit === undefined
    ? null
    : {
        port: args.debugExit === '' ? DEFAULT_DEBUG_EXIT_PORT : parseInteger(args.debugExit, '--debug-exit port'),
        size: parseInteger(args.debugExitSize, '--debug-exit-size'),
      };
  for (const t of args.trace) if (t !== 'kvm') throw new ConfigError(`unknown --trace '${t}' (kvm)`);
  return validateVmConfig({
    accel: args.accel,
    memoryBytes,
    smp: parseInteger(args.smp, '--smp'),
    kernel,
    initrd,
    append: args.append,
    serial: parseSerial(args.serial),
    noReboot: !args.reboot,
    debugExit,
    irqchip: args.irqchip,
    trace: args.trace,
    stats: args.stats,
  });
}
