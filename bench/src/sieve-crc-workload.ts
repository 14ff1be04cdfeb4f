/**
 * The kind of CPU-bound integer guest the JIT issue's anchors were measured on (a sieve, CRC-32,
 * copies, calls), as one round of 32-bit flat code at 0x10000 (run with paging on) reading the
 * bench's data at 0x20000 (interp-workloads.ts): a sieve of Eratosthenes over 8 Ki bytes cleared
 * by REP STOSD, a count of the primes it found, a CRC-32 table built bit by bit and the CRC of
 * 4 KiB of the data through it (a called function), 4 KiB copied by REP MOVSD and 1 KiB by 64
 * calls of a byte loop, then HLT. Assembled with nasm from the source in the comments.
 *
 * Its branches depend on the primes and the CRC polynomial's bits, not on the data, so the
 * instruction count is fixed: sieveCrcInstructions() works it out by following the same steps in
 * JavaScript (a REP instruction counts once, as a retired instruction). The guest leaves the
 * prime count at SIEVE_RESULT and the CRC at SIEVE_RESULT + 4, for tests to check. In the
 * comments SIEVE is 0x50000, N 8192, CRCTAB 0x4c000 and RESULT SIEVE_RESULT.
 */

const SIEVE_N = 8192;
export const SIEVE_RESULT = 0x4f000;
const CRC_BYTES = 4096;
const COPY_CALLS = 64;
const COPY_CHUNK = 16;
const CRC32_POLYNOMIAL = 0xedb88320;

export const SIEVE_CRC_LOOP = [
  0xbf, 0x00, 0x00, 0x05, 0x00,             // mov edi, SIEVE
  0xb9, 0x00, 0x08, 0x00, 0x00,             // mov ecx, N/4
  0x31, 0xc0,                               // xor eax, eax
  0xf3, 0xab,                               // rep stosd
  0xbb, 0x02, 0x00, 0x00, 0x00,             // mov ebx, 2
  // outer:
  0x80, 0xbb, 0x00, 0x00, 0x05, 0x00, 0x00, // cmp byte [SIEVE+ebx], 0
  0x75, 0x15,                               // jne next
  0x89, 0xd8,                               // mov eax, ebx
  0x0f, 0xaf, 0xc3,                         // imul eax, ebx
  // mark:
  0xc6, 0x80, 0x00, 0x00, 0x05, 0x00, 0x01, // mov byte [SIEVE+eax], 1
  0x01, 0xd8,                               // add eax, ebx
  0x3d, 0x00, 0x20, 0x00, 0x00,             // cmp eax, N
  0x72, 0xf0,                               // jb mark
  // next:
  0x43,                                     // inc ebx
  0x89, 0xd8,                               // mov eax, ebx
  0x0f, 0xaf, 0xc3,                         // imul eax, ebx
  0x3d, 0x00, 0x20, 0x00, 0x00,             // cmp eax, N
  0x72, 0xd5,                               // jb outer
  // count the primes below N
  0x31, 0xc0,                               // xor eax, eax
  0xbb, 0x02, 0x00, 0x00, 0x00,             // mov ebx, 2
  // count:
  0x80, 0xbb, 0x00, 0x00, 0x05, 0x00, 0x01, // cmp byte [SIEVE+ebx], 1
  0x83, 0xd0, 0x00,                         // adc eax, 0
  0x43,                                     // inc ebx
  0x81, 0xfb, 0x00, 0x20, 0x00, 0x00,       // cmp ebx, N
  0x72, 0xed,                               // jb count
  0xa3, 0x00, 0xf0, 0x04, 0x00,             // mov [RESULT], eax
  // CRC-32 table
  0x31, 0xdb,                               // xor ebx, ebx
  // table:
  0x89, 0xd8,                               // mov eax, ebx
  0xb9, 0x08, 0x00, 0x00, 0x00,             // mov ecx, 8
  // bit:
  0xd1, 0xe8,                               // shr eax, 1
  0x73, 0x05,                               // jnc nopoly
  0x35, 0x20, 0x83, 0xb8, 0xed,             // xor eax, 0xedb88320
  // nopoly:
  0x49,                                     // dec ecx
  0x75, 0xf4,                               // jnz bit
  0x89, 0x04, 0x9d, 0x00, 0xc0, 0x04, 0x00, // mov [CRCTAB+ebx*4], eax
  0x43,                                     // inc ebx
  0x81, 0xfb, 0x00, 0x01, 0x00, 0x00,       // cmp ebx, 256
  0x72, 0xdd,                               // jb table
  // CRC-32 of 4 KiB of the data
  0xbe, 0x00, 0x00, 0x02, 0x00,             // mov esi, 0x20000
  0xb9, 0x00, 0x10, 0x00, 0x00,             // mov ecx, 4096
  0xe8, 0x33, 0x00, 0x00, 0x00,             // call crc32
  0xa3, 0x04, 0xf0, 0x04, 0x00,             // mov [RESULT+4], eax
  // copies: 4 KiB by REP MOVSD, then 1 KiB in 64 calls of a byte loop
  0xbe, 0x00, 0x00, 0x02, 0x00,             // mov esi, 0x20000
  0xbf, 0x00, 0x40, 0x03, 0x00,             // mov edi, 0x34000
  0xb9, 0x00, 0x04, 0x00, 0x00,             // mov ecx, 1024
  0xf3, 0xa5,                               // rep movsd
  0xbe, 0x00, 0x10, 0x02, 0x00,             // mov esi, 0x21000
  0xbf, 0x00, 0x60, 0x03, 0x00,             // mov edi, 0x36000
  0xbd, 0x40, 0x00, 0x00, 0x00,             // mov ebp, 64
  // chunk:
  0xb9, 0x10, 0x00, 0x00, 0x00,             // mov ecx, 16
  0xe8, 0x1f, 0x00, 0x00, 0x00,             // call copy_bytes
  0x4d,                                     // dec ebp
  0x75, 0xf3,                               // jnz chunk
  0xf4,                                     // hlt
  // crc32:
  0xb8, 0xff, 0xff, 0xff, 0xff,             // mov eax, -1
  // crcbyte:
  0x0f, 0xb6, 0x16,                         // movzx edx, byte [esi]
  0x30, 0xc2,                               // xor dl, al
  0xc1, 0xe8, 0x08,                         // shr eax, 8
  0x33, 0x04, 0x95, 0x00, 0xc0, 0x04, 0x00, // xor eax, [CRCTAB+edx*4]
  0x46,                                     // inc esi
  0x49,                                     // dec ecx
  0x75, 0xed,                               // jnz crcbyte
  0xf7, 0xd0,                               // not eax
  0xc3,                                     // ret
  // copy_bytes:
  0x8a, 0x06,                               // mov al, [esi]
  0x88, 0x07,                               // mov [edi], al
  0x46,                                     // inc esi
  0x47,                                     // inc edi
  0x49,                                     // dec ecx
  0x75, 0xf7,                               // jnz copy_bytes
  0xc3,                                     // ret
];
/** Where the round's HLT is (its two functions follow it). */
export const SIEVE_CRC_HLT_OFFSET = 0xc3;

/** The primes below SIEVE_N, as the guest's sieve marks them. */
function sievePrimes(): boolean[] {
  const composite = new Array<boolean>(SIEVE_N).fill(false);
  for (let i = 2; i * i < SIEVE_N; i++) {
    if (composite[i]) continue;
    for (let j = i * i; j < SIEVE_N; j += i) composite[j] = true;
  }
  return composite.map((c, i) => i >= 2 && !c);
}

/** The CRC-32 table (reflected, polynomial 0xEDB88320) and how many of its 2,048 bit steps XOR. */
export function crc32Table(): { table: Uint32Array; xors: number } {
  const table = new Uint32Array(256);
  let xors = 0;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      const carry = c & 1;
      c >>>= 1;
      if (carry) {
        c = (c ^ CRC32_POLYNOMIAL) >>> 0;
        xors++;
      }
    }
    table[n] = c;
  }
  return { table, xors };
}

/** The prime count the guest stores at SIEVE_RESULT. */
export function sievePrimeCount(): number {
  return sievePrimes().filter(Boolean).length;
}

/** The instructions one round retires, its HLT included, following the guest's code step by step. */
function sieveCrcInstructions(): number {
  let n = 5; // mov edi, mov ecx, xor, rep stosd, mov ebx
  const primes = sievePrimes();
  for (let b = 2; ; b++) {
    n += 2; // cmp, jne
    if (primes[b]) n += 2 + 4 * Math.ceil((SIEVE_N - b * b) / b); // mov, imul; the marking loop
    n += 5; // inc, mov, imul, cmp, jb
    if ((b + 1) * (b + 1) >= SIEVE_N) break;
  }
  n += 2 + (SIEVE_N - 2) * 5 + 1; // xor, mov; the count loop; the store
  n += 1 + 256 * (2 + 8 * 4 + 4) + crc32Table().xors; // xor; per entry: 2 + 8 steps of shr/jnc/dec/jnz + 4; the XORs
  n += 3 + 1 + CRC_BYTES * 7 + 2 + 1; // mov, mov, call; the function's mov, loop, not, ret; the store
  n += 4 + 3 + COPY_CALLS * (2 + COPY_CHUNK * 6 + 1 + 2) + 1; // REP MOVSD and its set-up; the calls; hlt
  return n;
}

/** What one round retires (sieveCrcInstructions). */
export const SIEVE_CRC_INSTRUCTIONS = sieveCrcInstructions();
