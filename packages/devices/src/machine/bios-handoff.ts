/**
 * The device state a PC BIOS leaves behind when it hands over to a kernel, for kernels that
 * expect it. QEMU boots `-kernel` through SeaBIOS, so a Multiboot kernel under QEMU starts with
 * the 8259 pair initialised, the 8254 ticking at 18.2 Hz with IRQ 0 unmasked, and a real-mode
 * interrupt vector table whose hardware-IRQ handlers acknowledge the PIC. kvm-unit-tests relies
 * on it: realmode.flat's "sti inhibit" test ends in `sti; hlt` and only the BIOS timer tick wakes
 * it (its runner notes "the realmode test relies on the PIT"). tsemu starts kernels directly, so
 * this recreates that state instead of running a BIOS.
 *
 * What is set, following the IBM PC/AT BIOS conventions SeaBIOS keeps:
 * - 8259 master: ICW1 0x11 (edge, cascade, ICW4), ICW2 vector base 0x08, ICW3 0x04, ICW4 0x01
 *   (8086 mode); slave: base 0x70, cascade identity 2. Masks: only IRQ 0 (timer) and IRQ 2
 *   (cascade) open; every other line stays masked until a guest opens it.
 * - 8254 counter 0: mode 3 (square wave), binary, reload 0 (65536): IRQ 0 at 1193182/65536 Hz.
 * - IVT (0000:0000): every vector points at an IRET; vectors 08h-0Fh at a handler that sends a
 *   non-specific EOI to the master, 70h-77h at one that sends it to both; 08h (the timer)
 *   also counts ticks in the BIOS data area dword at 0040:006C, as INT 08h does.
 *
 * The handlers live in the BIOS area at F000:FF00 (RAM here: there is no ROM without --bios).
 * Ports are programmed through the machine's port bus, so the devices see what a BIOS would
 * have written; without a port device (KVM's in-kernel irqchip) the writes go to whatever
 * answers there.
 */
import type { GuestMemory, IoBus } from '../platform/index.js';

/** Real-mode segment and offset of the handler stubs: physical 0xFFF00. */
export const BIOS_HANDOFF_STUB_SEGMENT = 0xf000;
export const BIOS_HANDOFF_STUB_OFFSET = 0xff00;
/** The BIOS data area's timer tick count (0040:006C). */
export const BDA_TIMER_TICKS = 0x46c;

const PIC_MASTER = 0x20;
const PIC_SLAVE = 0xa0;
const PIT_COUNTER0 = 0x40;
const PIT_MODE = 0x43;
const OCW2_NON_SPECIFIC_EOI = 0x20;

/** The stubs, 8086 code. */
const STUB_IRET = [0xcf];
/** push ax; mov al, 20h; out 20h, al; pop ax; iret */
const STUB_EOI_MASTER = [0x50, 0xb0, OCW2_NON_SPECIFIC_EOI, 0xe6, PIC_MASTER, 0x58, 0xcf];
/** push ax; mov al, 20h; out 0A0h, al; out 20h, al; pop ax; iret */
const STUB_EOI_BOTH = [0x50, 0xb0, OCW2_NON_SPECIFIC_EOI, 0xe6, PIC_SLAVE, 0xe6, PIC_MASTER, 0x58, 0xcf];
/**
 * The timer: push ds; push ax; xor ax, ax; mov ds, ax; add word [46Ch], 1; adc word [46Eh], 0;
 * mov al, 20h; out 20h, al; pop ax; pop ds; iret
 */
const STUB_TIMER = [
  0x1e, 0x50, 0x31, 0xc0, 0x8e, 0xd8,
  0x83, 0x06, BDA_TIMER_TICKS & 0xff, BDA_TIMER_TICKS >> 8, 0x01,
  0x83, 0x16, (BDA_TIMER_TICKS + 2) & 0xff, (BDA_TIMER_TICKS + 2) >> 8, 0x00,
  0xb0, OCW2_NON_SPECIFIC_EOI, 0xe6, PIC_MASTER, 0x58, 0x1f, 0xcf,
];

export interface BiosHandoffLayout {
  /** Offsets (in segment F000) of each stub. */
  iret: number;
  eoiMaster: number;
  eoiBoth: number;
  timer: number;
}

/** Writes the stubs and the IVT into RAM; returns where each stub went. */
export function writeBiosInterruptTable(memory: GuestMemory): BiosHandoffLayout {
  const base = BIOS_HANDOFF_STUB_SEGMENT * 16 + BIOS_HANDOFF_STUB_OFFSET;
  let at = 0;
  const place = (code: readonly number[]): number => {
    memory.writeBytes(base + at, Uint8Array.from(code));
    const offset = BIOS_HANDOFF_STUB_OFFSET + at;
    at += code.length;
    return offset;
  };
  const layout: BiosHandoffLayout = {
    iret: place(STUB_IRET),
    eoiMaster: place(STUB_EOI_MASTER),
    eoiBoth: place(STUB_EOI_BOTH),
    timer: place(STUB_TIMER),
  };
  for (let vector = 0; vector < 256; vector++) {
    let offset = layout.iret;
    if (vector === 0x08) offset = layout.timer;
    else if (vector >= 0x09 && vector <= 0x0f) offset = layout.eoiMaster;
    else if (vector >= 0x70 && vector <= 0x77) offset = layout.eoiBoth;
    memory.write16(vector * 4, offset);
    memory.write16(vector * 4 + 2, BIOS_HANDOFF_STUB_SEGMENT);
  }
  memory.write32(BDA_TIMER_TICKS, 0);
  return layout;
}

/** Programs the 8259 pair and 8254 counter 0 through the port bus, as the BIOS does at POST. */
export function programBiosInterruptHardware(pio: IoBus): void {
  // ICW1..ICW4 for each 8259, then OCW1 (the mask).
  for (const [port, base, icw3, mask] of [[PIC_MASTER, 0x08, 0x04, 0xfa], [PIC_SLAVE, 0x70, 0x02, 0xff]]) {
    pio.write(port, 1, 0x11);
    pio.write(port + 1, 1, base);
    pio.write(port + 1, 1, icw3);
    pio.write(port + 1, 1, 0x01);
    pio.write(port + 1, 1, mask);
  }
  // Counter 0, lobyte/hibyte, mode 3, binary; reload 0 means 65536.
  pio.write(PIT_MODE, 1, 0x36);
  pio.write(PIT_COUNTER0, 1, 0);
  pio.write(PIT_COUNTER0, 1, 0);
}
