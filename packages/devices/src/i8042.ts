/**
 * Intel 8042 keyboard controller as on the PC/AT and PS/2 (ports 0x60 data, 0x64
 * status/command), with a PS/2 keyboard behind it and an empty aux (mouse) port.
 *
 * Sources: IBM PS/2 Technical Reference (controller commands, status and command byte),
 * Linux drivers/input/serio/i8042.c and libps2 (what its probe expects), QEMU
 * hw/input/pckbd.c and ps2.c (behaviour guests were tested against).
 *
 * - Commands complete at once, so the input buffer is never full (IBF = 0).
 * - Bytes reach the one-byte output buffer from three places, in this priority: the
 *   controller's own replies (and 0xD2/0xD3 injections), then the keyboard (only while
 *   the command byte's KBDDIS is clear). Reading port 0x60 drops the IRQ line and loads
 *   the next byte, which raises it again: one edge per byte, as edge-triggered PICs need.
 * - IRQ1 follows a non-aux byte in the output buffer when CTR.KBDINT is set, IRQ12 an aux
 *   byte when CTR.AUXINT is set.
 * - The aux port exists but nothing is plugged in. 0xD3 (write aux output buffer) echoes
 *   with the AUXDATA status bit and IRQ12, so Linux's AUX loop and IRQ tests pass and it
 *   registers "i8042 AUX port"; a byte sent to the mouse with 0xD4 is answered, like a
 *   real controller with no device, by 0xFE with TIMEOUT|AUXDATA set. Linux's psmouse
 *   sees SERIO_TIMEOUT, aborts its command at once (no 200 ms waits) and binds no mouse.
 * - Scan-code translation (CTR.XLATE) is modelled only where the probe looks at it: the
 *   keyboard ID (0x83 -> 0x41) and the scan-code set query. Host key bytes given to
 *   injectScancodes() are delivered as they are.
 * - The initial state is what a PC BIOS leaves behind (CTR = KBDINT|SYS|AUXDIS|XLATE,
 *   SYS flag set, A20 enabled in the output port), since tsemu may boot without one.
 *
 * The keyboard itself (its commands, replies and buffer) is in ps2-keyboard.ts; this
 * file is the controller, its output buffer and the IRQ lines.
 */
import { z } from 'zod';
import type { AccessSize, IoDevice, IrqLine, Persistable } from './platform/index.js';
import { Ps2Kbd, Ps2Keyboard, ps2KeyboardDefaults, ps2KeyboardStateSchema } from './ps2-keyboard.js';

// Re-exported so code that drives the controller gets the keyboard's command codes from the same import.
export { Ps2Kbd } from './ps2-keyboard.js';

export const I8042_DATA_PORT = 0x60;
export const I8042_COMMAND_PORT = 0x64;

/** Status register bits (Linux's I8042_STR_* names). */
export const I8042Status = {
  OBF: 0x01, IBF: 0x02, SYSFLAG: 0x04, CMDDAT: 0x08, KEYLOCK: 0x10, AUXDATA: 0x20, TIMEOUT: 0x40, PARITY: 0x80,
} as const;

/** Controller command byte (CTR) bits. */
export const I8042Ctr = {
  KBDINT: 0x01, AUXINT: 0x02, SYSFLAG: 0x04, IGNKEYLOCK: 0x08, KBDDIS: 0x10, AUXDIS: 0x20, XLATE: 0x40,
} as const;

/** Output port (P2) bits. */
export const I8042Out = { SYSTEM_RESET: 0x01, A20: 0x02, KBD_OBF: 0x10, AUX_OBF: 0x20 } as const;

/** Controller commands written to port 0x64. */
export const I8042Cmd = {
  READ_CTR: 0x20, WRITE_CTR: 0x60, AUX_DISABLE: 0xa7, AUX_ENABLE: 0xa8, AUX_TEST: 0xa9, SELF_TEST: 0xaa,
  KBD_TEST: 0xab, KBD_DISABLE: 0xad, KBD_ENABLE: 0xae, READ_INPUT_PORT: 0xc0, READ_OUTPUT_PORT: 0xd0,
  WRITE_OUTPUT_PORT: 0xd1, WRITE_KBD_OBUF: 0xd2, WRITE_AUX_OBUF: 0xd3, WRITE_AUX: 0xd4, A20_DISABLE: 0xdd,
  A20_ENABLE: 0xdf, READ_TEST_INPUTS: 0xe0, PULSE_OUTPUT: 0xf0,
} as const;

export const I8042_SELF_TEST_OK = 0x55;
const INITIAL_CTR = I8042Ctr.KBDINT | I8042Ctr.SYSFLAG | I8042Ctr.AUXDIS | I8042Ctr.XLATE;
/** Output port after reset: not in reset, A20 on, unused bits high (QEMU's value). */
const INITIAL_OUTPUT_PORT = 0xcf;
/** Input port: bit 7 = keyboard not inhibited (the keylock switch is open). */
const INPUT_PORT = 0x80;

// Output-buffer entries are the byte plus flags saying where it came from.
const FROM_AUX = 0x100;
const WITH_TIMEOUT = 0x200;
const EMPTY = -1;

const byte = z.number().int().min(0).max(0xff);
const entry = z.number().int().min(0).max(0x3ff);

export const i8042StateSchema = z.object({
  version: z.literal(1),
  ctr: byte,
  outputPort: byte,
  systemFlag: z.boolean(),
  lastWriteWasCommand: z.boolean(),
  /** Controller command waiting for its data byte, or -1. */
  pendingCommand: z.number().int().min(-1).max(0xff),
  /** Output buffer: byte | 0x100 if from aux | 0x200 if with timeout, or -1 when empty. */
  outputBuffer: z.number().int().min(-1).max(0x3ff),
  lastData: byte,
  controllerQueue: z.array(entry),
  keyboardQueue: z.array(byte),
  keyboard: ps2KeyboardStateSchema,
});
export type I8042State = z.infer<typeof i8042StateSchema>;
/** The controller's own part of the state; the keyboard's part lives in the Ps2Keyboard. */
type ControllerState = Omit<I8042State, 'keyboardQueue' | 'keyboard'>;

export interface I8042Options {
  irqKeyboard: IrqLine;
  irqMouse: IrqLine;
  /** The guest pulsed the CPU reset line (0xFE, 0xF0-0xFE even, or 0xD1 with bit 0 clear). */
  onReset: () => void;
  /** The guest wrote the output port's A20 gate (0xD1, 0xDD, 0xDF). */
  onA20?: (enabled: boolean) => void;
}

export interface I8042Counters {
  /** Controller or keyboard commands the model does not know. */
  unknownCommands: number;
  /** Host key bytes dropped because the keyboard buffer was full or scanning was off. */
  droppedKeys: number;
}

function initialControllerState(): ControllerState {
  return {
    version: 1, ctr: INITIAL_CTR, outputPort: INITIAL_OUTPUT_PORT, systemFlag: true, lastWriteWasCommand: false,
    pendingCommand: -1, outputBuffer: EMPTY, lastData: 0, controllerQueue: [],
  };
}

function initialState(): I8042State {
  return { ...initialControllerState(), keyboardQueue: [], keyboard: ps2KeyboardDefaults() };
}

export class I8042 implements Persistable<I8042State> {
  readonly persistKey = 'i8042';
  readonly counters: I8042Counters = { unknownCommands: 0, droppedKeys: 0 };
  /** Port 0x60: output buffer (read) and data to the controller or keyboard (write). */
  readonly dataPort: IoDevice;
  /** Port 0x64: status (read) and controller commands (write). */
  readonly commandPort: IoDevice;

  private s: ControllerState = initialControllerState();
  private readonly keyboard = new Ps2Keyboard();
  private kbdIrq = false;
  private auxIrq = false;

  constructor(private readonly options: I8042Options) {
    this.dataPort = {
      name: 'i8042-data',
      read: (_offset: number, _size: AccessSize) => this.readData(),
      write: (_offset: number, _size: AccessSize, value: number) => this.writeData(value & 0xff),
    };
    this.commandPort = {
      name: 'i8042-command',
      read: (_offset: number, _size: AccessSize) => this.readStatus(),
      write: (_offset: number, _size: AccessSize, value: number) => this.writeCommand(value & 0xff),
    };
  }

  /** Back to the state after power-on and firmware. */
  reset(): void {
    this.load(initialState());
  }

  /** Bytes from the keyboard (make/break codes), delivered as given; dropped while scanning is off. */
  injectScancodes(bytes: ArrayLike<number>): void {
    this.counters.droppedKeys += this.keyboard.injectScancodes(bytes);
    this.refill();
  }

  /** True when the output port's A20 gate is on. */
  get a20Enabled(): boolean {
    return (this.s.outputPort & I8042Out.A20) !== 0;
  }

  /** The controller command byte. */
  get commandByte(): number {
    return this.s.ctr;
  }

  save(): I8042State {
    const { keyboard, queue } = this.keyboard.save();
    return { ...this.s, controllerQueue: [...this.s.controllerQueue], keyboardQueue: queue, keyboard };
  }

  restore(state: I8042State): void {
    this.load(i8042StateSchema.parse(state));
  }

  /** Takes copies of everything in `state`. */
  private load(state: I8042State): void {
    const { keyboardQueue, keyboard, ...controller } = state;
    this.s = { ...controller, controllerQueue: [...controller.controllerQueue] };
    this.keyboard.load(keyboard, keyboardQueue);
    // Drive both lines to the restored levels: the interrupt controller is restored apart.
    this.computeIrqs();
    this.options.irqKeyboard.setLevel(this.kbdIrq);
    this.options.irqMouse.setLevel(this.auxIrq);
  }

  private readStatus(): number {
    const ob = this.s.outputBuffer;
    let status = I8042Status.KEYLOCK | (this.s.lastWriteWasCommand ? I8042Status.CMDDAT : 0);
    if (this.s.systemFlag) status |= I8042Status.SYSFLAG;
    if (ob !== EMPTY) {
      status |= I8042Status.OBF;
      if (ob & FROM_AUX) status |= I8042Status.AUXDATA;
      if (ob & WITH_TIMEOUT) status |= I8042Status.TIMEOUT;
    }
    return status;
  }

  private readData(): number {
    if (this.s.outputBuffer === EMPTY) return this.s.lastData;
    this.s.lastData = this.s.outputBuffer & 0xff;
    this.s.outputBuffer = EMPTY;
    this.updateIrqs();
    this.refill();
    return this.s.lastData;
  }

  private writeCommand(cmd: number): void {
    this.s.lastWriteWasCommand = true;
    this.s.pendingCommand = -1;
    if (cmd >= I8042Cmd.PULSE_OUTPUT) {
      // Bits 3:0 select output-port lines to pulse low; line 0 is the CPU reset.
      if ((cmd & I8042Out.SYSTEM_RESET) === 0) this.options.onReset();
      return;
    }
    if (cmd >= I8042Cmd.READ_CTR && cmd < I8042Cmd.READ_CTR + 0x20) {
      // Byte 0 of the controller RAM is the command byte; the rest is scratch we don't keep.
      this.reply(cmd === I8042Cmd.READ_CTR ? this.s.ctr : 0);
      return;
    }
    if (cmd >= I8042Cmd.WRITE_CTR && cmd < I8042Cmd.WRITE_CTR + 0x20) {
      this.s.pendingCommand = cmd;
      return;
    }
    switch (cmd) {
      case I8042Cmd.AUX_DISABLE:
        this.setCtr(this.s.ctr | I8042Ctr.AUXDIS);
        return;
      case I8042Cmd.AUX_ENABLE:
        this.setCtr(this.s.ctr & ~I8042Ctr.AUXDIS);
        return;
      case I8042Cmd.AUX_TEST:
      case I8042Cmd.KBD_TEST:
        this.reply(0x00); // no clock or data line stuck
        return;
      case I8042Cmd.SELF_TEST:
        this.s.systemFlag = true;
        this.reply(I8042_SELF_TEST_OK);
        return;
      case I8042Cmd.KBD_DISABLE:
        this.setCtr(this.s.ctr | I8042Ctr.KBDDIS);
        return;
      case I8042Cmd.KBD_ENABLE:
        this.setCtr(this.s.ctr & ~I8042Ctr.KBDDIS);
        return;
      case I8042Cmd.READ_INPUT_PORT:
        this.reply(INPUT_PORT);
        return;
      case I8042Cmd.READ_OUTPUT_PORT:
        this.reply(this.currentOutputPort());
        return;
      case I8042Cmd.WRITE_OUTPUT_PORT:
      case I8042Cmd.WRITE_KBD_OBUF:
      case I8042Cmd.WRITE_AUX_OBUF:
      case I8042Cmd.WRITE_AUX:
        this.s.pendingCommand = cmd;
        return;
      case I8042Cmd.A20_DISABLE:
        this.writeOutputPort(this.s.outputPort & ~I8042Out.A20);
        return;
      case I8042Cmd.A20_ENABLE:
        this.writeOutputPort(this.s.outputPort | I8042Out.A20);
        return;
      case I8042Cmd.READ_TEST_INPUTS:
        this.reply(0x00);
        return;
      default:
        this.counters.unknownCommands++;
    }
  }

  private writeData(value: number): void {
    this.s.lastWriteWasCommand = false;
    const cmd = this.s.pendingCommand;
    this.s.pendingCommand = -1;
    if (cmd === -1) {
      // Sending to the keyboard re-enables its interface (as QEMU and AMI firmware do).
      this.s.ctr &= ~I8042Ctr.KBDDIS;
      if (!this.keyboard.receive(value, (this.s.ctr & I8042Ctr.XLATE) !== 0)) this.counters.unknownCommands++;
      this.refill();
    } else if (cmd === I8042Cmd.WRITE_CTR) {
      this.s.systemFlag = (value & I8042Ctr.SYSFLAG) !== 0;
      this.setCtr(value);
    } else if (cmd === I8042Cmd.WRITE_OUTPUT_PORT) {
      this.writeOutputPort(value);
    } else if (cmd === I8042Cmd.WRITE_KBD_OBUF) {
      this.reply(value);
    } else if (cmd === I8042Cmd.WRITE_AUX_OBUF) {
      this.reply(value | FROM_AUX);
    } else if (cmd === I8042Cmd.WRITE_AUX) {
      // No device on the aux port: the controller times out and reports 0xFE.
      this.s.ctr &= ~I8042Ctr.AUXDIS;
      this.reply(Ps2Kbd.NAK | FROM_AUX | WITH_TIMEOUT);
    }
    // Writes to controller RAM bytes 0x01-0x1F (commands 0x61-0x7F) are not kept.
  }

  private writeOutputPort(value: number): void {
    this.s.outputPort = value & ~(I8042Out.KBD_OBF | I8042Out.AUX_OBF);
    this.options.onA20?.((value & I8042Out.A20) !== 0);
    if ((value & I8042Out.SYSTEM_RESET) === 0) this.options.onReset();
  }

  private currentOutputPort(): number {
    const ob = this.s.outputBuffer;
    let value = this.s.outputPort;
    if (ob !== EMPTY) value |= ob & FROM_AUX ? I8042Out.AUX_OBF : I8042Out.KBD_OBF;
    return value;
  }

  /** A byte from the controller itself: ahead of keyboard data, whatever KBDDIS/AUXDIS say. */
  private reply(entry: number): void {
    this.s.controllerQueue.push(entry);
    this.refill();
  }

  private setCtr(value: number): void {
    this.s.ctr = value & 0xff;
    this.refill();
    this.updateIrqs();
  }

  /** Loads the output buffer when it is empty, then updates the IRQ lines. */
  private refill(): void {
    if (this.s.outputBuffer === EMPTY) {
      if (this.s.controllerQueue.length > 0) this.s.outputBuffer = this.s.controllerQueue.shift()!;
      else if (!(this.s.ctr & I8042Ctr.KBDDIS) && this.keyboard.pendingBytes > 0) this.s.outputBuffer = this.keyboard.takeByte();
    }
    this.updateIrqs();
  }

  private computeIrqs(): void {
    const ob = this.s.outputBuffer;
    const full = ob !== EMPTY;
    this.kbdIrq = full && !(ob & FROM_AUX) && (this.s.ctr & I8042Ctr.KBDINT) !== 0;
    this.auxIrq = full && (ob & FROM_AUX) !== 0 && (this.s.ctr & I8042Ctr.AUXINT) !== 0;
  }

  private updateIrqs(): void {
    const kbd = this.kbdIrq;
    const aux = this.auxIrq;
    this.computeIrqs();
    if (this.kbdIrq !== kbd) this.options.irqKeyboard.setLevel(this.kbdIrq);
    if (this.auxIrq !== aux) this.options.irqMouse.setLevel(this.auxIrq);
  }
}
