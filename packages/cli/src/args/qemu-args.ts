/**
 * QEMU's spellings of the options tsemu supports, translated into tsemu's own flags,
 * so a script written for `qemu-system-x86_64` runs tsemu unchanged:
 *
 *   -kernel F -initrd F -append S -m SIZE -smp N -accel kvm|tcg -enable-kvm
 *   -machine [pc][,accel=kvm|tcg|kvm:tcg][,kernel_irqchip=on|off]  -M pc
 *   -nographic -display none -nodefaults -serial stdio|file:F|none|null -no-reboot
 *   -device isa-debug-exit[,iobase=N][,iosize=N]  -device pc-testdev  -device pci-testdev
 *   -device ? | help (lists the devices)  -global kvm-pit.lost_tick_policy=...  -cpu MODEL[,+f,-f]
 *   -vnc none  -h | -help
 *
 * That set is what kvm-unit-tests' x86 runner passes (docs/kvm-unit-tests.md).
 * Anything else that looks like a QEMU option is a ConfigError naming it: silently
 * ignoring an option would make a script appear to work while doing something else.
 */
import { existsSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';

/**
 * What `-device ?` prints, one device a line in QEMU's format (`name "NAME", bus B, desc "..."`):
 * the devices tsemu can add on request. kvm-unit-tests greps this for pc-testdev and pci-testdev.
 */
export const QEMU_DEVICE_LIST = [
  'Misc devices:',
  'name "isa-debug-exit", bus ISA, desc "exit the emulator with status (value << 1) | 1"',
  'name "pc-testdev", bus ISA, desc "QEMU x86 ISA test device (kvm-unit-tests)"',
  'name "pci-testdev", bus PCI, desc "PCI Test Device (adds a PCI bus with an i440FX host bridge)"',
].join('\n');

/** The devices `-device NAME` adds beyond isa-debug-exit (tsemu's --device values). */
export const TEST_DEVICES = ['pc-testdev', 'pci-testdev'] as const;
export type TestDeviceName = (typeof TEST_DEVICES)[number];

/**
 * A QEMU command line that asks for information rather than a VM: `-device ?` / `-device help`
 * (the device list) or `-h` / `-help` (usage). Returns the text to print on stdout, else null.
 */
export function qemuInfoRequest(argv: readonly string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '-device' && (argv[i + 1] === '?' || argv[i + 1] === 'help')) return QEMU_DEVICE_LIST;
    if (argv[i] === '-h' || argv[i] === '-help') {
      // QEMU's first line names the program; scripts (kvm-unit-tests) read a version from it.
      return 'tsemu 0.1.0 (QEMU-compatible options: a subset of qemu-system-x86_64\'s; `tsemu --help` lists all)';
    }
  }
  return null;
}

/**
 * -global properties tsemu accepts. kvm-pit.lost_tick_policy tunes KVM's in-kernel PIT
 * reinjection; tsemu's own PIT (tcg, --irqchip=user) never queues lost ticks, which is what
 * "discard" asks for, and the in-kernel PIT keeps KVM's default: the value is checked, then ignored.
 */
const GLOBALS: Record<string, readonly string[]> = {
  'kvm-pit.lost_tick_policy': ['discard', 'delay', 'slew'],
};

/**
 * -cpu models that mean "the CPU tsemu presents": tsemu has one model per accelerator (the
 * software CPU's, or the host's under KVM), so `max`/`host`/`base` select it. Any other model
 * name or +feature is accepted with a warning, as QEMU warns when TCG lacks a requested feature.
 */
const CPU_SELF_MODELS = new Set(['max', 'host', 'base']);

/** QEMU options that take a value, as they appear on QEMU's command line. */
const WITH_VALUE = new Set([
  'kernel', 'initrd', 'append', 'm', 'smp', 'accel', 'machine', 'M', 'display', 'serial', 'device',
  'global', 'cpu', 'vnc',
]);
const WITHOUT_VALUE = new Set(['nographic', 'nodefaults', 'no-reboot', 'enable-kvm']);

/** Parses "a,b=c,d=e" into a leading bare word (if any) and key=value properties. */
function parseProps(text: string): { bare: string[]; props: Map<string, string> } {
  const bare: string[] = [];
  const props = new Map<string, string>();
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) bare.push(part);
    else props.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return { bare, props };
}

function rejectUnknown(option: string, props: Map<string, string>, known: string[]): void {
  for (const key of props.keys()) {
    if (!known.includes(key)) throw new ConfigError(`unsupported property '${key}' in QEMU option -${option}`);
  }
}

/** Receives the warnings a QEMU option gives (QEMU prints them as "warning: ..."). */
export type QemuWarn = (message: string) => void;

function translateDevice(value: string): string[] {
  const { bare, props } = parseProps(value);
  const name = bare[0];
  if (name === 'isa-debug-exit') {
    rejectUnknown('device isa-debug-exit', props, ['iobase', 'iosize']);
    // QEMU's defaults for the device (hw/misc/debugexit.c): iobase 0x501, iosize 2.
    return ['--debug-exit', props.get('iobase') ?? '0x501', '--debug-exit-size', props.get('iosize') ?? '2'];
  }
  if (name === 'pc-testdev' || name === 'pci-testdev') {
    rejectUnknown(`device ${name}`, props, []);
    return ['--device', name];
  }
  throw new ConfigError(`unsupported device '${name ?? value}' in -device (-device ? lists the devices)`);
}

function translateGlobal(value: string): string[] {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  const allowed = GLOBALS[key];
  if (allowed === undefined) throw new ConfigError(`unsupported -global property '${key}' (tsemu accepts: ${Object.keys(GLOBALS).join(', ')})`);
  const v = value.slice(eq + 1);
  if (eq < 0 || !allowed.includes(v)) throw new ConfigError(`invalid -global ${value} (${key}=${allowed.join('|')})`);
  return [];
}

function translateCpu(value: string, warn: QemuWarn): string[] {
  const [model, ...features] = value.split(',');
  if (model === '' || model === undefined) throw new ConfigError('-cpu needs a model name');
  if (!CPU_SELF_MODELS.has(model)) warn(`-cpu ${model}: tsemu presents its own CPU model (as with -cpu max); CPUID may differ from QEMU's ${model}`);
  for (const f of features) {
    // QEMU's forms: +feat, -feat, feat (= on), prop=value.
    if (!/^[+-]?[\w.-]+(=[\w.-]+)?$/.test(f)) throw new ConfigError(`invalid -cpu feature '${f}' (+FEATURE, -FEATURE, FEATURE or PROP=VALUE)`);
    warn(`-cpu ${model}: feature setting '${f}' is not supported; CPUID reports the features tsemu implements`);
  }
  return [];
}

function translate(name: string, value: string, warn: QemuWarn): string[] {
  switch (name) {
    case 'kernel':
      // QEMU's wording: kvm-unit-tests' runner recognises a missing kernel by it.
      if (!existsSync(value)) throw new ConfigError(`could not load kernel '${value}': No such file or directory`);
      // QEMU starts kernels through SeaBIOS: give them the device state it leaves (bios-handoff.ts).
      return ['--kernel', value, '--bios-handoff'];
    case 'initrd':
      // QEMU passes a comma-separated list of Multiboot modules here.
      return ['--initrd', value];
    case 'append':
      return ['--append', value];
    case 'm': {
      const { bare, props } = parseProps(value);
      rejectUnknown('m', props, ['size']);
      return ['--memory', props.get('size') ?? bare[0] ?? ''];
    }
    case 'smp': {
      const { bare, props } = parseProps(value);
      rejectUnknown('smp', props, ['cpus']);
      const cpus = props.get('cpus') ?? bare[0] ?? '';
      // Refused here, in QEMU's words (kvm-unit-tests' --probe-maxsmp reads the limit from them),
      // so the status is a usage error (2): status 1 would read as "all passed" to a test runner.
      if (/^\d+$/.test(cpus) && Number(cpus) > 1) throw new ConfigError(`Invalid SMP CPUs ${cpus}. The max CPUs supported by machine 'pc' is 1`);
      return ['--smp', cpus];
    }
    case 'accel': {
      const { bare, props } = parseProps(value);
      rejectUnknown('accel', props, []);
      return ['--accel', bare[0] ?? ''];
    }
    case 'enable-kvm':
      return ['--accel', 'kvm'];
    case 'M':
    case 'machine': {
      const { bare, props } = parseProps(value);
      rejectUnknown(name, props, ['accel', 'kernel_irqchip', 'type']);
      const type = props.get('type') ?? bare[0];
      if (type !== undefined && type !== 'pc' && !type.startsWith('pc-i440fx')) {
        throw new ConfigError(`unsupported machine type '${type}' (tsemu emulates the 'pc' machine)`);
      }
      const out: string[] = [];
      const accel = props.get('accel');
      if (accel !== undefined) out.push('--accel', accel === 'kvm:tcg' ? 'auto' : accel);
      const irqchip = props.get('kernel_irqchip');
      if (irqchip !== undefined) {
        if (irqchip !== 'on' && irqchip !== 'off') throw new ConfigError(`unsupported kernel_irqchip=${irqchip} (on or off)`);
        out.push('--irqchip', irqchip === 'on' ? 'kernel' : 'user');
      }
      return out;
    }
    case 'nographic':
    case 'nodefaults':
      // tsemu has no graphical display and adds no default devices beyond the PC's own.
      return [];
    case 'display':
      if (value !== 'none') throw new ConfigError(`unsupported -display ${value} (tsemu has no graphical display; use -display none)`);
      return [];
    case 'serial':
      if (value === 'stdio' || value === 'mon:stdio') return ['--serial', 'stdio'];
      if (value === 'none' || value === 'null') return ['--serial', 'none'];
      if (value.startsWith('file:')) return ['--serial', value];
      throw new ConfigError(`unsupported -serial ${value} (stdio, file:PATH, none)`);
    case 'no-reboot':
      return ['--no-reboot'];
    case 'device':
      return translateDevice(value);
    case 'global':
      return translateGlobal(value);
    case 'cpu':
      return translateCpu(value, warn);
    case 'vnc':
      if (value !== 'none') throw new ConfigError(`unsupported -vnc ${value} (tsemu has no display; -vnc none only)`);
      return [];
    default:
      throw new ConfigError(`unsupported QEMU option -${name}`);
  }
}

/** True when `arg` is written the QEMU way: one dash and a word ("-kernel", not "--kernel"). */
export function isQemuStyle(arg: string): boolean {
  return /^-[A-Za-z][\w-]*$/.test(arg);
}

/** Rewrites QEMU-style options into tsemu flags; tsemu's own arguments pass through. */
export function normalizeQemuArgs(argv: readonly string[], warn: QemuWarn = () => {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (!isQemuStyle(arg)) {
      out.push(arg);
      continue;
    }
    const name = arg.slice(1);
    if (WITHOUT_VALUE.has(name)) {
      out.push(...translate(name, '', warn));
    } else if (WITH_VALUE.has(name)) {
      if (i + 1 >= argv.length) throw new ConfigError(`QEMU option ${arg} needs a value`);
      out.push(...translate(name, argv[++i], warn));
    } else {
      throw new ConfigError(`unsupported option ${arg}`);
    }
  }
  return out;
}
