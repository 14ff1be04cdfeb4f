/**
 * The guest code of the interpreter benchmark (interp-mips.ts), as bytes and counts with no
 * emulator attached, so that a peer emulator (v86-interp.ts) can run exactly the same loops:
 * a real-mode ALU/memory/branch loop, a 32-bit flat protected-mode loop of calls and returns,
 * stack traffic, SIB addressing and carry tricks (run with and without paging), and a paged
 * 32-bit loop shaped like the Linux boot's hot spots (multi-precision multiply-accumulate,
 * shifts, MOVZX). Encodings are checked with `objdump -D -b binary -mi386` on a dump of the bytes.
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
/** Where FLAT32_LOOP's HLT is (its function follows it). */
export const FLAT32_HLT_OFFSET = 19;
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

const MPI_LIMBS = 64;
const MPI_BYTES = 64;
const MPI_ROUNDS = 500;
/** The round counter of the multi-precision loop (a memory operand: DEC m32, as a kernel loop keeps it). */
export const MPI_COUNTER = 0x40000;
/**
 * At 0x10000 (32-bit flat, run with paging on): the shape of the Linux boot's hot loops. Per
 * round, a multi-precision multiply-accumulate over 64 limbs (acc[i] += src[i] * ebp with the
 * carry chained in ebx, as the kernel's mpihelp_addmul_1 compiles for i686: MUL, ADD/ADC,
 * SIB loads and stores, INC/JNZ), then a decompressor-like pass over 64 bytes (MOVZX of bytes
 * and words, SHL by CL, SAR by 1, SHR and ROL by an immediate, IMUL, a 16-bit store), with
 * PUSH/POP of the multiplier and a DEC of a memory counter around them. Branch-free inside a
 * round, so the instruction count does not depend on the data.
 */
export const MPI_LOOP = [
  0xc7, 0x05, ...le32(MPI_COUNTER), ...le32(MPI_ROUNDS), // mov dword [MPI_COUNTER], MPI_ROUNDS
  0xbd, 0xb9, 0x79, 0x37, 0x9e, //        mov ebp, 0x9e3779b9
  // outer (0x1000f):
  0xbe, ...le32(0x20000 + MPI_LIMBS * 4), // mov esi, src end
  0xbf, ...le32(0x30000 + MPI_LIMBS * 4), // mov edi, acc end
  0xb9, ...le32(-MPI_LIMBS), //            mov ecx, -LIMBS
  0x31, 0xdb, //                          xor ebx, ebx
  // limb:
  0x8b, 0x04, 0x8e, //                    mov eax, [esi+ecx*4]
  0xf7, 0xe5, //                          mul ebp
  0x01, 0xd8, //                          add eax, ebx
  0x83, 0xd2, 0x00, //                    adc edx, 0
  0x03, 0x04, 0x8f, //                    add eax, [edi+ecx*4]
  0x83, 0xd2, 0x00, //                    adc edx, 0
  0x89, 0x04, 0x8f, //                    mov [edi+ecx*4], eax
  0x89, 0xd3, //                          mov ebx, edx
  0x41, //                                inc ecx
  0x75, 0xe8, //                          jnz limb
  0x55, //                                push ebp
  0xbe, ...le32(0x20000 + MPI_BYTES), //   mov esi, bytes end
  0xbf, ...le32(0x30000 + MPI_BYTES * 2), // mov edi, words end
  0xbb, ...le32(-MPI_BYTES), //            mov ebx, -BYTES
  0x89, 0xd5, //                          mov ebp, edx
  // byte:
  0x0f, 0xb6, 0x04, 0x1e, //              movzx eax, byte [esi+ebx]
  0x0f, 0xb7, 0x14, 0x5f, //              movzx edx, word [edi+ebx*2]
  0x89, 0xc1, //                          mov ecx, eax
  0x83, 0xe1, 0x07, //                    and ecx, 7
  0xd3, 0xe2, //                          shl edx, cl
  0xd1, 0xfa, //                          sar edx, 1
  0xc1, 0xe8, 0x03, //                    shr eax, 3
  0x0f, 0xaf, 0xc2, //                    imul eax, edx
  0x31, 0xd5, //                          xor ebp, edx
  0x01, 0xc5, //                          add ebp, eax
  0xc1, 0xc5, 0x05, //                    rol ebp, 5
  0x66, 0x89, 0x2c, 0x5f, //              mov [edi+ebx*2], bp
  0x43, //                                inc ebx
  0x75, 0xdb, //                          jnz byte
  0x89, 0xe8, //                          mov eax, ebp
  0x5d, //                                pop ebp
  0x31, 0xc5, //                          xor ebp, eax
  0x83, 0xcd, 0x01, //                    or ebp, 1
  0xff, 0x0d, ...le32(MPI_COUNTER), //     dec dword [MPI_COUNTER]
  0x75, 0x90, //                          jnz outer
  0xf4, //                                hlt
];
export const MPI_INSTRUCTIONS = 2 + MPI_ROUNDS * (4 + MPI_LIMBS * 10 + 5 + MPI_BYTES * 14 + 6) + 1;

const FRAME_ROUNDS = 500;
const FRAME_LIMBS = 64;
/** The frame loop's round counter. */
const FRAME_COUNTER = 0x40000;
/**
 * At 0x10000 (32-bit flat, run with paging on): code as a compiler short of registers makes it
 * (Debian's i686 kernel is full of it: the certificate check's multiply loop keeps seven locals
 * at [ebp-0x28] ... [ebp-0x10]). Per round, 64 limbs of a multiply by 16-bit halves whose
 * pointers, multiplier and carry live in the frame, so most accesses are EBP-relative in one
 * page, beside SIB loads and a read-modify-write of the destination. Branch-free inside a
 * round. Encodings checked with ndisasm.
 */
export const FRAME_LOOP = [
  0xc7, 0x05, ...le32(FRAME_COUNTER), ...le32(FRAME_ROUNDS), // mov dword [FRAME_COUNTER], ROUNDS
  0xbd, ...le32(0x3ff00), //               mov ebp, 0x3ff00
  0x31, 0xdb, //                          xor ebx, ebx
  // outer (0x10011):
  0xc7, 0x45, 0xd8, ...le32(0x20000), //   mov dword [ebp-0x28], src
  0xc7, 0x45, 0xdc, ...le32(0x30000), //   mov dword [ebp-0x24], dst
  0xc7, 0x45, 0xe0, ...le32(0x9e3779b9), // mov dword [ebp-0x20], multiplier
  0x89, 0x5d, 0xe4, //                    mov [ebp-0x1c], ebx
  0x31, 0xdb, //                          xor ebx, ebx
  // limb (0x1002b):
  0x8b, 0x75, 0xd8, //                    mov esi, [ebp-0x28]
  0x8b, 0x04, 0x9e, //                    mov eax, [esi+ebx*4]
  0x89, 0xc2, //                          mov edx, eax
  0xc1, 0xea, 0x10, //                    shr edx, 16
  0x0f, 0xb7, 0xc0, //                    movzx eax, ax
  0x8b, 0x4d, 0xe0, //                    mov ecx, [ebp-0x20]
  0x0f, 0xaf, 0xc1, //                    imul eax, ecx
  0x0f, 0xaf, 0xd1, //                    imul edx, ecx
  0x89, 0x45, 0xec, //                    mov [ebp-0x14], eax
  0x89, 0x55, 0xf0, //                    mov [ebp-0x10], edx
  0xc1, 0xe2, 0x10, //                    shl edx, 16
  0x01, 0xd0, //                          add eax, edx
  0x03, 0x45, 0xe4, //                    add eax, [ebp-0x1c]
  0x8b, 0x55, 0xf0, //                    mov edx, [ebp-0x10]
  0xc1, 0xea, 0x10, //                    shr edx, 16
  0x83, 0xd2, 0x00, //                    adc edx, 0
  0x89, 0x55, 0xe4, //                    mov [ebp-0x1c], edx
  0x8b, 0x7d, 0xdc, //                    mov edi, [ebp-0x24]
  0x01, 0x04, 0x9f, //                    add [edi+ebx*4], eax
  0x43, //                                inc ebx
  0x83, 0xfb, FRAME_LIMBS, //             cmp ebx, LIMBS
  0x75, 0xc3, //                          jne limb
  0x8b, 0x5d, 0xe4, //                    mov ebx, [ebp-0x1c]
  0xff, 0x0d, ...le32(FRAME_COUNTER), //   dec dword [FRAME_COUNTER]
  0x75, 0x9e, //                          jnz outer
  0xf4, //                                hlt
];
export const FRAME_INSTRUCTIONS = 3 + FRAME_ROUNDS * (5 + FRAME_LIMBS * 22 + 3) + 1;

/** A 32-bit value as its four little-endian bytes (an immediate or address in guest code). */
export function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
