/**
 * The PS/2 keyboard behind the i8042's first port: its command set (LEDs, typematic
 * rate, scan-code set, ID, echo, enable, reset), its replies and its 16-byte buffer of
 * bytes not yet taken by the controller.
 *
 * Sources: IBM PS/2 Technical Reference (keyboard commands), Linux libps2 and atkbd
 * (what the probe sends and expects), QEMU hw/input/ps2.c.
 *
 * Kept apart from i8042.ts because the keyboard is a separate device on the other end
 * of the serial link: the controller decides when its bytes reach the output buffer
 * (KBDDIS) and whether they are translated (XLATE); this file is only the keyboard.
 * Its state is saved inside the i8042 snapshot, so the schema is exported for it.
 */
import { z } from 'zod';

/** PS/2 keyboard commands and replies. */
export const Ps2Kbd = {
  SET_LEDS: 0xed, ECHO: 0xee, SCANCODE_SET: 0xf0, GET_ID: 0xf2, SET_TYPEMATIC: 0xf3, ENABLE: 0xf4,
  RESET_DISABLE: 0xf5, RESET_ENABLE: 0xf6, RESEND: 0xfe, RESET: 0xff,
  ACK: 0xfa, BAT_OK: 0xaa, NAK: 0xfe, ID_1: 0xab, ID_2: 0x83, ID_2_TRANSLATED: 0x41,
} as const;

/** A PS/2 keyboard buffers 16 bytes; beyond that it drops keys. */
const KEYBOARD_BUFFER = 16;
/** Scan-code set numbers as the controller reports them through translation. */
const TRANSLATED_SET = [0, 0x43, 0x41, 0x3f] as const;

const byte = z.number().int().min(0).max(0xff);

export const ps2KeyboardStateSchema = z.object({
  scanning: z.boolean(),
  scancodeSet: z.number().int().min(1).max(3),
  leds: byte,
  typematic: byte,
  /** Keyboard command waiting for its parameter byte, or -1. */
  pendingCommand: z.number().int().min(-1).max(0xff),
  lastSent: byte,
});
export type Ps2KeyboardState = z.infer<typeof ps2KeyboardStateSchema>;

/** Power-on defaults: scanning, set 2, LEDs off, 10.9 cps after 500 ms. */
export function ps2KeyboardDefaults(): Ps2KeyboardState {
  return { scanning: true, scancodeSet: 2, leds: 0, typematic: 0x2b, pendingCommand: -1, lastSent: 0 };
}

export class Ps2Keyboard {
  private s: Ps2KeyboardState = ps2KeyboardDefaults();
  /** Bytes sent towards the controller and not yet taken by it, oldest first. */
  private queue: number[] = [];

  /** Bytes waiting for the controller. */
  get pendingBytes(): number {
    return this.queue.length;
  }

  /** The oldest waiting byte, removed; the caller has checked pendingBytes. */
  takeByte(): number {
    return this.queue.shift()!;
  }

  /** Host key bytes, delivered as given. Returns how many were dropped (scanning off or buffer full). */
  injectScancodes(bytes: ArrayLike<number>): number {
    let dropped = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (!this.s.scanning || this.queue.length >= KEYBOARD_BUFFER) dropped++;
      else this.queue.push(bytes[i] & 0xff);
    }
    return dropped;
  }

  /**
   * A byte from the host. `translated` is the controller's XLATE bit, which changes the
   * ID and scan-code set replies the guest sees. Returns false for a command the model
   * does not know (answered with NAK).
   */
  receive(value: number, translated: boolean): boolean {
    const kbd = this.s;
    const pending = kbd.pendingCommand;
    if (pending !== -1) {
      kbd.pendingCommand = -1;
      if (pending === Ps2Kbd.SET_LEDS) {
        kbd.leds = value & 0x07;
        this.send(Ps2Kbd.ACK);
      } else if (pending === Ps2Kbd.SET_TYPEMATIC) {
        kbd.typematic = value & 0x7f;
        this.send(Ps2Kbd.ACK);
      } else if (value === 0) {
        // Scan-code set query: the reply goes through translation when XLATE is on.
        this.send(Ps2Kbd.ACK);
        this.send(translated ? TRANSLATED_SET[kbd.scancodeSet] : kbd.scancodeSet);
      } else if (value <= 3) {
        kbd.scancodeSet = value;
        this.send(Ps2Kbd.ACK);
      } else {
        this.send(Ps2Kbd.NAK);
      }
      return true;
    }
    switch (value) {
      case Ps2Kbd.SET_LEDS:
      case Ps2Kbd.SET_TYPEMATIC:
      case Ps2Kbd.SCANCODE_SET:
        kbd.pendingCommand = value;
        this.send(Ps2Kbd.ACK);
        return true;
      case Ps2Kbd.ECHO:
        this.send(Ps2Kbd.ECHO);
        return true;
      case Ps2Kbd.GET_ID:
        this.send(Ps2Kbd.ACK);
        this.send(Ps2Kbd.ID_1);
        this.send(translated ? Ps2Kbd.ID_2_TRANSLATED : Ps2Kbd.ID_2);
        return true;
      case Ps2Kbd.ENABLE:
        kbd.scanning = true;
        this.send(Ps2Kbd.ACK);
        return true;
      case Ps2Kbd.RESET_DISABLE:
      case Ps2Kbd.RESET_ENABLE:
        // Defaults again; bytes already sent to the controller stay there.
        this.s = { ...ps2KeyboardDefaults(), scanning: value === Ps2Kbd.RESET_ENABLE };
        this.send(Ps2Kbd.ACK);
        return true;
      case Ps2Kbd.RESEND:
        this.send(kbd.lastSent);
        return true;
      case Ps2Kbd.RESET:
        // Power-on reset: keys not yet delivered are lost.
        this.s = ps2KeyboardDefaults();
        this.queue = [];
        this.send(Ps2Kbd.ACK);
        this.send(Ps2Kbd.BAT_OK);
        return true;
      default:
        if (value >= 0xf7 && value <= 0xfd) {
          // Scan-code set 3 key-type commands: acknowledged, not modelled.
          this.send(Ps2Kbd.ACK);
          return true;
        }
        this.send(Ps2Kbd.NAK);
        return false;
    }
  }

  /** Copies of the keyboard's state and waiting bytes, for the i8042 snapshot. */
  save(): { keyboard: Ps2KeyboardState; queue: number[] } {
    return { keyboard: { ...this.s }, queue: [...this.queue] };
  }

  /** Replaces state and waiting bytes (copied), for reset and snapshot restore. */
  load(keyboard: Ps2KeyboardState, queue: readonly number[]): void {
    this.s = { ...keyboard };
    this.queue = [...queue];
  }

  private send(value: number): void {
    this.s.lastSent = value;
    this.queue.push(value);
  }
}
