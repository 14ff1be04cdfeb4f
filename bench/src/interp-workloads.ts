/**
 * The guest code of the interpreter benchmark (interp-mips.ts), as bytes and counts with no
 * emulator attached, so that a peer emulator (v86-interp.ts) can run exactly the same loops:
 * a real-mode ALU/memory/branch loop, and a 32-bit flat protected-mode loop of calls and returns,
 * stack traffic, SIB addressing and carry tricks (run with and without paging).
 */

export const REAL_MODE_LOOP = [
  0x31, 0xc0, //             xor ax, ax
  0xbb, 0x00, 0x10, //       mov bx, 0x1000
  0xb9, 0xff, 0xff, //       mov cx, 0xffff
  // loop:
  0x01, 0xc8, //             add ax, cx
  0x31, 0x07, //             xor [bx], ax
  0x8b, 0x17, //             mov dx, [bx]
  0x83, 0xc3, 0x02, //       add bx, 2
  0x81, 0xe3, 0xff, 0x1f, // and bx, 0x1fff
  0xe2, 0xf1, //             loop loop
  0xf4, //                   hlt
];
export const REAL_MODE_INSTRUCTIONS = 3 + 0xffff * 6 + 1;

const CALLS = 50000;
/** At 0x10000; 16 instructions per outer iteration. */
export const FLAT32_LOOP = [
  0xb9, CALLS & 0xff, (CALLS >> 8) & 0xff, CALLS >>> 16, 0x00, // mov ecx, CALLS
  0x31, 0xdb, //                         xor ebx, ebx
  0x31, 0xd2, //                         xor edx, edx
  // outer (0x10009):
  0x51, //                               push ecx
  0xe8, 0x05, 0x00, 0x00, 0x00, //       call func
  0x59, //                               pop ecx
  0x49, //                               dec ecx
  0x75, 0xf6, //                         jnz outer
  0xf4, //                               hlt
  // func (0x10014):
  0x8b, 0x82, 0x00, 0x00, 0x02, 0x00, // mov eax, [edx+0x20000]
  0x01, 0xd8, //                         add eax, ebx
  0x89, 0x82, 0x00, 0x00, 0x03, 0x00, // mov [edx+0x30000], eax
  0x8d, 0x5c, 0x43, 0x01, //             lea ebx, [ebx+eax*2+1]
  0x83, 0xc2, 0x04, //                   add edx, 4
  0x81, 0xe2, 0xfc, 0xff, 0x00, 0x00, // and edx, 0xfffc
  0x39, 0xd8, //                         cmp eax, ebx
  0x19, 0xc9, //                         sbb ecx, ecx
  0x21, 0xc1, //                         and ecx, eax
  0x31, 0xcb, //                         xor ebx, ecx
  0xc3, //                               ret
];
export const FLAT32_INSTRUCTIONS = 3 + CALLS * 16 + 1;
export const PAGE_DIRECTORY = 0x90000;
export const PAGE_TABLE = 0x91000;

/** The flat32 loop's input: 16 Ki pseudo-random dwords at 0x20000 (a fixed LCG, the same every run). */
export function flat32Data(): Uint32Array {
  const data = new Uint32Array(0x4000);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) | 0;
    data[i] = seed >>> 0;
  }
  return data;
}
