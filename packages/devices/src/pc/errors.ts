/**
 * Host-side errors of the PC machine: a configuration the map cannot express, or a
 * kernel image the loaders cannot boot. Each reaches the user as one clear line.
 */

/** The machine configuration is invalid (for example a RAM size the PC map cannot lay out). */
export class MachineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MachineConfigError';
  }
}

/**
 * A kernel image (or a module / initrd that goes with it) cannot be loaded. `reason`
 * is the bare explanation; the message prefixes it with the file name when known.
 */
export class KernelImageError extends Error {
  constructor(
    readonly reason: string,
    readonly fileName?: string,
  ) {
    super(fileName ? `${fileName}: ${reason}` : reason);
    this.name = 'KernelImageError';
  }
}
