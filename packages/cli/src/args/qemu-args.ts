/**
 * QEMU's spellings of the options tsemu supports, translated into tsemu's own flags,
 * so a script written for `qemu-system-x86_64` runs tsemu unchanged:
 *
 *   -kernel F -initrd F -append S -m SIZE -smp N -accel kvm|tcg -enable-kvm
 *   -machine [pc][,accel=kvm|tcg|kvm:tcg][,kernel_irqchip=on|off]  -M pc
 *   -nographic -display none -nodefaults -serial stdio|file:F|none|null -no-reboot
 *   -device isa-debug-exit[,iobase=N][,iosize=N]
 *
 * Anything else that looks like a QEMU option is a ConfigError naming it: silently
 * ignoring an option would make a script appear to work while doing something else.
 */
import { ConfigError } from '../config/errors.js';

/** QEMU options that take a value, as they appear on QEMU's command line. */
const WITH_VALUE = new Set([
  'kernel', 'initrd', 'append', 'm', 'smp', 'accel', 'machine', 'M', 'display', 'serial', 'device',
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

function translate(name: string, value: string): string[] {
  switch (name) {
    case 'kernel':
      return ['--kernel', value];
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
      return ['--smp', props.get('cpus') ?? bare[0] ?? ''];
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
    case 'device': {
      const { bare, props } = parseProps(value);
      if (bare[0] !== 'isa-debug-exit') throw new ConfigError(`unsupported device '${bare[0] ?? value}' in -device`);
      rejectUnknown('device isa-debug-exit', props, ['iobase', 'iosize']);
      // QEMU's defaults for the device (hw/misc/debugexit.c): iobase 0x501, iosize 2.
      return ['--debug-exit', props.get('iobase') ?? '0x501', '--debug-exit-size', props.get('iosize') ?? '2'];
    }
    default:
      throw new ConfigError(`unsupported QEMU option -${name}`);
  }
}

/** True when `arg` is written the QEMU way: one dash and a word ("-kernel", not "--kernel"). */
export function isQemuStyle(arg: string): boolean {
  return /^-[A-Za-z][\w-]*$/.test(arg);
}

/** Rewrites QEMU-style options into tsemu flags; tsemu's own arguments pass through. */
export function normalizeQemuArgs(argv: readonly string[]): string[] {
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
      out.push(...translate(name, ''));
    } else if (WITH_VALUE.has(name)) {
      if (i + 1 >= argv.length) throw new ConfigError(`QEMU option ${arg} needs a value`);
      out.push(...translate(name, argv[++i]));
    } else {
      throw new ConfigError(`unsupported option ${arg}`);
    }
  }
  return out;
}
