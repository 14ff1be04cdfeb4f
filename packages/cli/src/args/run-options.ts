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
    .option('bios', { type: 'string', describe: 'start from the reset vector with this firmware image (64-256 KiB, read-only at the top of 1 MiB and of 4 GiB; --accel=tcg); QEMU: -bios' })
    .option('flat', { type: 'string', describe: 'load a flat binary instead of a kernel (see --flat-address, --flat-mode)' })
    .option('flat-address', { type: 'string', default: '0x7c00', describe: 'guest-physical load address of --flat' })
    .option('flat-mode', { type: 'string', choices: ['real', 'protected'], default: 'real', describe: 'CPU mode at the --flat entry' })
    .option('serial', { type: 'string', default: 'stdio', describe: 'COM1 backend: stdio, file:PATH, none' })
    .option('reboot', { type: 'boolean', default: true, describe: 'reset on triple fault or reboot; --no-reboot exits instead' })
    .option('debug-exit', { type: 'string', describe: 'add isa-debug-exit at PORT (default 0xf4): writing v exits with status (v<<1)|1' })
    .option('debug-exit-size', { type: 'string', default: '4', describe: 'isa-debug-exit register size in bytes (1, 2, 4)' })
    .option('irqchip', { type: 'string', choices: ['kernel', 'user'], default: 'kernel', describe: "kvm: KVM's in-kernel PIC/PIT/IOAPIC, or tsemu's own models (user)" })
    .option('trace', { type: 'string', array: true, default: [] as string[], describe: 'narrate on stderr: kvm (the ioctl flow and every exit); jit (tcg: each translated block, its guest disassembly beside the generated JavaScript); cpu[:START-END] (tcg: each instruction as cs:ip, linear address, bytes, disassembly, plus exceptions and interrupts; START-END or START+LENGTH in hex linear addresses, inclusive)' })
    .option('trace-file', { type: 'string', describe: 'write --trace=cpu lines to this file instead of stderr' })
    .option('stats', { type: 'boolean', default: false, describe: 'print figures at exit (stderr): kvm exits by reason and port/region; tcg instructions, MIPS, interrupts, HLTs, caches, virtual vs host time' })
    .option('clock', { type: 'string', choices: ['virtual', 'host'], describe: 'time the devices see: virtual (tcg default: counted in instructions, so runs are reproducible; idle time is skipped) or host (real time; the only one under kvm)' })
    .option('icount', { type: 'string', describe: 'virtual clock rate: 2^SHIFT ns per instruction, SHIFT 0-10 (default 0 = 1 ns), then optionally ,sleep=on|off (an idle guest sleeps so virtual time does not run ahead of host time; default on when stdin is a terminal); implies --clock=virtual (like QEMU -icount shift=N,sleep=on|off)' })
    .option('rtc-base', { type: 'string', describe: "the RTC's date at power-on: utc (the host's time, default) or YYYY-MM-DD[THH:MM:SS] in UTC, for reproducible runs (like QEMU -rtc base=DATE)" })
    .option('bios-handoff', { type: 'boolean', default: false, describe: "start --kernel with the PIC (bases 0x08/0x70), PIT (18.2 Hz, IRQ 0 open) and real-mode IVT as a PC BIOS leaves them; QEMU's -kernel implies it (QEMU boots kernels through SeaBIOS)" })
    .option('device', { type: 'string', array: true, choices: ['pc-testdev', 'pci-testdev'], default: [] as string[], describe: "add QEMU's test devices for kvm-unit-tests: pc-testdev (ports 0xe0-0xeb, 0x2000-0x2017 IRQ lines, MMIO 0xff000000); pci-testdev (a PCI bus, i440FX host bridge at 00:00.0, the device at 00:02.0); QEMU: -device" })
    .option('jit', { type: 'string', choices: ['on', 'off'], describe: 'tcg: translate hot guest code (16/32-bit) to JavaScript (on, the default) or run the interpreter alone (off)' })
    .option('jit-threshold', { type: 'number', describe: 'tcg: interpreted runs of a block before the JIT translates it (default 20000; 0 translates everything at once; long blocks sooner with --jit-backend=wasm)' })
    .option('jit-blocks', { type: 'number', describe: 'tcg: blocks of one page one JavaScript translation may cover, branching between them inside (1-8, default 4; 1 also keeps WebAssembly translations to one block)' })
    .option('jit-backend', { type: 'string', choices: ['wasm', 'js'], describe: 'tcg: translate to WebAssembly where the block allows, else JavaScript (wasm, the default), or always to JavaScript (js)' });
}

export interface RunArgs {
  accel: string;
  memory: string;
  smp: string;
  kernel?: string;
  initrd?: string;
  append: string;
  flat?: string;
  bios?: string;
  flatAddress: string;
  flatMode: string;
  serial: string;
  reboot: boolean;
  debugExit?: string;
  debugExitSize: string;
  irqchip: string;
  trace: string[];
  traceFile?: string;
  stats: boolean;
  clock?: string;
  icount?: string;
  rtcBase?: string;
  jit?: string;
  jitThreshold?: number;
  jitBlocks?: number;
  jitBackend?: string;
  device?: string[];
  biosHandoff?: boolean;
}

function parseSerial(text: string): SerialConfig {
  if (text === 'stdio') return { kind: 'stdio' };
  if (text === 'none' || text === 'null') return { kind: 'none' };
  if (text.startsWith('file:') && text.length > 5) return { kind: 'file', path: text.slice(5) };
  throw new ConfigError(`invalid --serial '${text}' (stdio, file:PATH, none)`);
}

/** A hex linear address ("0x" optional). */
function parseHexAddress(text: string, what: string): number {
  const digits = text.replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,16}$/i.test(digits)) throw new ConfigError(`invalid ${what} '${text}' (a hex linear address)`);
  const value = Number.parseInt(digits, 16);
  if (!Number.isSafeInteger(value)) throw new ConfigError(`${what} '${text}' is too large`);
  return value;
}

/** --trace values: kvm, cpu, cpu:START-END, cpu:START+LENGTH (hex, inclusive). */
export function parseTraces(values: readonly string[]): { kinds: ('kvm' | 'cpu' | 'jit')[]; cpuRange: { start: number; end: number } | null } {
  const kinds = new Set<'kvm' | 'cpu' | 'jit'>();
  let cpuRange: { start: number; end: number } | null = null;
  for (const value of values.flatMap((v) => v.split(','))) {
    if (value === 'kvm' || value === 'cpu' || value === 'jit') {
      kinds.add(value);
      continue;
    }
    const m = /^cpu:([^-+]+)([-+])(.+)$/.exec(value);
    if (!m) throw new ConfigError(`unknown --trace '${value}' (kvm, jit, cpu, cpu:START-END, cpu:START+LENGTH)`);
    const start = parseHexAddress(m[1], '--trace=cpu start');
    const second = parseHexAddress(m[3], m[2] === '-' ? '--trace=cpu end' : '--trace=cpu length');
    const end = m[2] === '-' ? second : start + second - 1;
    if (end < start) throw new ConfigError(`--trace '${value}': the range ends before it starts`);
    kinds.add('cpu');
    cpuRange = { start, end };
  }
  return { kinds: [...kinds], cpuRange };
}

/** --rtc-base: utc/now (null: the host's time at start) or an ISO date, taken as UTC. */
export function parseRtcBase(text: string | undefined): number | null {
  if (text === undefined || text === 'utc' || text === 'now') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  const ms = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)) : NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).getUTCDate() !== +m[3]) {
    throw new ConfigError(`invalid --rtc-base '${text}' (utc, or YYYY-MM-DD[THH:MM[:SS]] in UTC)`);
  }
  return ms;
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
  if (args.bios !== undefined) {
    // No fw_cfg yet: firmware cannot be handed a kernel, so the ROM is the whole guest.
    if (args.kernel !== undefined || args.flat !== undefined) throw new ConfigError('--bios cannot be combined with --kernel or --flat yet');
    checkReadable(args.bios, 'BIOS image');
    kernel = { kind: 'bios', path: args.bios };
  } else if (args.kernel !== undefined) {
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
  const trace = parseTraces(args.trace);
  if (args.traceFile !== undefined && !trace.kinds.includes('cpu') && !trace.kinds.includes('jit')) throw new ConfigError('--trace-file needs --trace=cpu or --trace=jit');
  const icount = args.icount === undefined ? null : /^([^,]+)(?:,sleep=(on|off))?$/.exec(args.icount);
  if (icount === null && args.icount !== undefined) throw new ConfigError(`invalid --icount '${args.icount}' (SHIFT or SHIFT,sleep=on|off)`);
  const icountShift = icount === null ? null : parseInteger(icount[1], '--icount');
  const idleSleep = icount?.[2] === undefined ? null : icount[2] === 'on';
  if (icountShift !== null && args.clock === 'host') throw new ConfigError('--icount counts virtual time: it cannot be used with --clock=host');
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
    trace: trace.kinds,
    cpuTraceRange: trace.cpuRange,
    traceFile: args.traceFile ?? null,
    stats: args.stats,
    clock: icountShift !== null ? 'virtual' : args.clock ?? null,
    icountShift,
    idleSleep,
    rtcBaseMs: parseRtcBase(args.rtcBase),
    jit: args.jit ?? null,
    jitThreshold: args.jitThreshold ?? null,
    jitBlocks: args.jitBlocks ?? null,
    jitBackend: args.jitBackend ?? null,
    devices: [...new Set(args.device ?? [])],
    biosHandoff: args.biosHandoff ?? false,
  });
}
