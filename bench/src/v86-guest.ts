/**
 * The interpreter benchmark's guests (interp-mips.ts) packed as Multiboot images, so that a peer
 * emulator that boots Multiboot kernels without firmware (v86 does: with no BIOS it puts the CPU
 * at the entry point in flat 32-bit protected mode, as the Multiboot spec 0.6.96, 3.2 "Machine
 * state", says) runs the same loop bytes on the same data. The images use the header's a.out
 * kludge (flags bit 16: header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr; spec 3.1.3),
 * so they need no ELF.
 *
 * Each image holds a short prologue that puts the CPU in the state interp-mips.ts gives our
 * interpreter directly: ESP, CR3/CR0.PG for the paged variant; for the real-mode loop, a switch
 * back to real mode through 16-bit segments (SDM Vol. 3, 9.9.2 "Switching Back to Real-Address
 * Mode"). The prologue costs a few dozen instructions against 0.4-0.8 million in the loop.
 */
import { FLAT32_LOOP, PAGE_DIRECTORY, PAGE_TABLE, REAL_MODE_LOOP, flat32Data, le32 } from './interp-workloads.js';

const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
const MULTIBOOT_AOUT_KLUDGE = 1 << 16;

export interface Chunk {
  address: number;
  bytes: ArrayLike<number>;
}

/** A Multiboot image loaded at `loadAddress`, its header at `headerAddress` (within the first 8 KiB). */
function multibootImage(loadAddress: number, headerAddress: number, entry: number, chunks: Chunk[]): Uint8Array {
  const end = Math.max(...chunks.map((c) => c.address + c.bytes.length), headerAddress + 32);
  const image = new Uint8Array(end - loadAddress);
  for (const c of chunks) image.set(Array.from(c.bytes), c.address - loadAddress);
  const header = new DataView(image.buffer, headerAddress - loadAddress, 32);
  const fields = [
    MULTIBOOT_HEADER_MAGIC, MULTIBOOT_AOUT_KLUDGE, -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_AOUT_KLUDGE),
    headerAddress, loadAddress, end, end, entry,
  ];
  fields.forEach((v, i) => header.setUint32(i * 4, v >>> 0, true));
  return image;
}

function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}

/** A GDT descriptor: base 0, byte-granular 64 KiB limit, the given access byte, 16-bit. */
function descriptor16(access: number): number[] {
  return [0xff, 0xff, 0, 0, 0, access, 0x00, 0];
}

const REAL_GDT = 0x7040;
const REAL_GDTR = 0x7070;
const REAL_PROLOGUE = 0x7100;
const REAL_STUB16 = 0x7180;
const REAL_STUB_REAL = 0x71c0;
const REAL_LOOP_SOURCE = 0x7800;
const REAL_LOOP_ADDRESS = 0x7c00;

/**
 * The real-mode loop at 0x7C00 as interp-mips.ts runs it. Copied there by the prologue, because
 * a Multiboot loader may put its information structure at 0x7C00 after loading the image (v86 does).
 */
export function realModeLoopImage(): Uint8Array {
  const prologue = [
    0xfc, //                                    cld
    0xbe, ...le32(REAL_LOOP_SOURCE), //           mov esi, source
    0xbf, ...le32(REAL_LOOP_ADDRESS), //          mov edi, 0x7c00
    0xb9, ...le32(REAL_MODE_LOOP.length), //      mov ecx, length
    0xf3, 0xa4, //                              rep movsb
    0x0f, 0x01, 0x15, ...le32(REAL_GDTR), //      lgdt [gdtr]
    0xea, ...le32(REAL_STUB16), ...u16(0x18), //  jmp 0x18:stub16
  ];
  const stub16 = [
    0xb8, ...u16(0x20), //                      mov ax, 0x20
    0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, //      mov ds/es/ss, ax
    0x0f, 0x20, 0xc0, //                        mov eax, cr0
    0x24, 0xfe, //                              and al, ~PE
    0x0f, 0x22, 0xc0, //                        mov cr0, eax
    0xea, ...u16(REAL_STUB_REAL), ...u16(0), //  jmp 0:stub_real
  ];
  const stubReal = [
    0x31, 0xc0, //                              xor ax, ax
    0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, //      mov ds/es/ss, ax
    0xea, ...u16(REAL_LOOP_ADDRESS), ...u16(0), // jmp 0:0x7c00
  ];
  const gdt = [
    ...new Array<number>(24).fill(0), // null; 0x08 and 0x10 stay as the loader set them (cached)
    ...descriptor16(0x9a), //            0x18: 16-bit code
    ...descriptor16(0x92), //            0x20: 16-bit data
  ];
  return multibootImage(0x7000, 0x7000, REAL_PROLOGUE, [
    { address: REAL_GDT, bytes: gdt },
    { address: REAL_GDTR, bytes: [...u16(gdt.length - 1), ...le32(REAL_GDT)] },
    { address: REAL_PROLOGUE, bytes: prologue },
    { address: REAL_STUB16, bytes: stub16 },
    { address: REAL_STUB_REAL, bytes: stubReal },
    { address: REAL_LOOP_SOURCE, bytes: REAL_MODE_LOOP },
  ]);
}

/**
 * A flat 32-bit loop (FLAT32_LOOP unless given) at 0x10000, its data at 0x20000, and (paged)
 * identity page tables for the low 4 MiB. The prologue jumps to `entry`: the loop, unless
 * something in `extra` is to run it (workload-guest.ts).
 */
export function flat32LoopImage(paging: boolean, loop: readonly number[] = FLAT32_LOOP, extra: readonly Chunk[] = [], entry = 0x10000): Uint8Array {
  const prologue = [
    0xbc, ...le32(0x80000), //                   mov esp, 0x80000
    ...(paging
      ? [
          0xb8, ...le32(PAGE_DIRECTORY), //      mov eax, PAGE_DIRECTORY
          0x0f, 0x22, 0xd8, //                  mov cr3, eax
          0x0f, 0x20, 0xc0, //                  mov eax, cr0
          0x0d, ...le32(0x80000000), //          or eax, CR0.PG
          0x0f, 0x22, 0xc0, //                  mov cr0, eax
        ]
      : []),
  ];
  const prologueAddress = 0x11000;
  const jump = 0xe9; //                         jmp entry (rel32 from the next instruction)
  const jumpFrom = prologueAddress + prologue.length + 5;
  const chunks: Chunk[] = [
    { address: 0x10000, bytes: loop },
    { address: prologueAddress, bytes: [...prologue, jump, ...le32(entry - jumpFrom)] },
    { address: 0x20000, bytes: new Uint8Array(flat32Data().buffer) },
    ...extra,
  ];
  if (paging) {
    const pd = new Uint32Array(1024);
    pd[0] = PAGE_TABLE | 3;
    const pt = new Uint32Array(1024);
    for (let p = 0; p < 1024; p++) pt[p] = (p << 12) | 3;
    chunks.push({ address: PAGE_DIRECTORY, bytes: new Uint8Array(pd.buffer) }, { address: PAGE_TABLE, bytes: new Uint8Array(pt.buffer) });
  }
  return multibootImage(0x10000, 0x10800, prologueAddress, chunks);
}

/**
 * v86's options for booting a Multiboot `image` headless with no BIOS (it enters the image in
 * flat protected mode itself); the caller adds autostart and the JIT's setting.
 */
export function v86MultibootOptions(wasmPath: string, image: Uint8Array): Record<string, unknown> {
  return {
    wasm_path: wasmPath,
    memory_size: 32 * 2 ** 20,
    vga_memory_size: 2 * 2 ** 20,
    multiboot: { buffer: image.buffer.slice(image.byteOffset, image.byteOffset + image.byteLength) },
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  };
}
