/**
 * The software CPU's interpreter on CPU-bound loops, in millions of guest instructions per
 * second: a real-mode ALU/memory/branch loop, and a 32-bit flat protected-mode loop of calls
 * and returns, stack traffic, SIB addressing and carry tricks (without paging, then with
 * paging on identity-mapped 4 KiB pages). The peer comparison (v86's interpreter on the same
 * guest) arrives with the interpreter issue's benchmark; these are the baselines the
 * optimisations are measured against.
 */
import {
  createPortBus, createSharedRamBacking, flatSegment32, GuestMemory, resetCpuState,
} from '@tsemu/devices/platform';
import { Mmu, PagedLinearMemory, SoftCpu } from '@tsemu/core-cpu';

const REAL_MODE_LOOP = [
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
const REAL_MODE_INSTRUCTIONS = 3 + 0xffff * 6 + 1;

const CALLS = 50000;
/** At 0x10000; 16 instructions per outer iteration. */
const FLAT32_LOOP = [
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
const FLAT32_INSTRUCTIONS = 3 + CALLS * 16 + 1;
const PAGE_DIRECTORY = 0x90000;
const PAGE_TABLE = 0x91000;

interface Workload {
  name: string;
  instructions: number;
  setup(memory: GuestMemory, mmu: Mmu, cpu: SoftCpu): void;
}

const WORKLOADS: Workload[] = [
  {
    name: 'real-mode ALU/memory/branch loop',
    instructions: REAL_MODE_INSTRUCTIONS,
    setup(memory, _mmu, cpu) {
      memory.writeBytes(0x7c00, Uint8Array.from(REAL_MODE_LOOP));
      const s = resetCpuState();
      s.cs = { ...s.cs, selector: 0, base: 0n };
      s.rip = 0x7c00n;
      cpu.regs.load(s);
    },
  },
  flat32('32-bit flat protected mode: calls, stack, SIB, carry', false),
  flat32('32-bit flat protected mode, paging on (4 KiB pages)', true),
];

function flat32(name: string, paging: boolean): Workload {
  return {
    name,
    instructions: FLAT32_INSTRUCTIONS,
    setup(memory, mmu, cpu) {
      memory.writeBytes(0x10000, Uint8Array.from(FLAT32_LOOP));
      let seed = 12345;
      for (let a = 0x20000; a < 0x30000; a += 4) {
        seed = (Math.imul(seed, 1103515245) + 12345) | 0;
        memory.write32(a, seed >>> 0);
      }
      const cr0 = paging ? 0x80000001 : 1;
      if (paging) {
        memory.write32(PAGE_DIRECTORY, PAGE_TABLE | 3);
        for (let p = 0; p < 1024; p++) memory.write32(PAGE_TABLE + p * 4, (p << 12) | 3);
      }
      const s = resetCpuState();
      s.cs = flatSegment32(8, true);
      for (const k of ['ds', 'es', 'ss', 'fs', 'gs'] as const) s[k] = flatSegment32(16, false);
      s.cr0 = BigInt(cr0 >>> 0);
      s.cr3 = paging ? BigInt(PAGE_DIRECTORY) : 0n;
      s.rip = 0x10000n;
      s.gpr[4] = 0x80000n;
      cpu.regs.load(s);
      mmu.setPagingContext({ cr0: cr0 | 0, cr3: paging ? PAGE_DIRECTORY : 0, cr3Hi: 0, cr4: 0, efer: 0 });
    },
  };
}

export function runInterpreterBench(rounds = 5): string[] {
  const lines: string[] = [];
  for (const w of WORKLOADS) {
    const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
    const mmu = new Mmu(memory, createPortBus());
    const cpu = new SoftCpu(new PagedLinearMemory(mmu), createPortBus(), mmu);
    const rates: number[] = [];
    for (let round = 0; round < rounds; round++) {
      w.setup(memory, mmu, cpu);
      cpu.flushDecodeCache(); // the setup wrote code straight into RAM
      cpu.halted = false;
      const start = process.hrtime.bigint();
      const n = cpu.run(w.instructions + 10);
      const ns = Number(process.hrtime.bigint() - start);
      if (n !== w.instructions) throw new Error(`${w.name}: interpreter ran ${n} instructions, expected ${w.instructions}`);
      rates.push((n / ns) * 1e3);
    }
    rates.sort((a, b) => a - b);
    lines.push(
      `  ${w.name}, ${w.instructions} instructions x ${rounds} rounds`,
      `  interpreter: median ${rates[rates.length >> 1].toFixed(1)} MIPS (best ${rates[rates.length - 1].toFixed(1)})`,
    );
  }
  return lines;
}
