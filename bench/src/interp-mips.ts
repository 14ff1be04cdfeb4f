/**
 * The software CPU's interpreter on a CPU-bound real-mode loop (ALU, memory, branches),
 * in millions of guest instructions per second. The peer comparison (v86's interpreter on
 * the same guest) arrives with the interpreter issue's benchmark; this is the baseline the
 * optimisations are measured against.
 */
import { createPortBus, createSharedRamBacking, GuestMemory, resetCpuState } from '@tsemu/devices/platform';
import { Mmu, PagedLinearMemory, SoftCpu } from '@tsemu/core-cpu';

const LOOP = [
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
const INSTRUCTIONS = 3 + 0xffff * 6 + 1;

export function runInterpreterBench(rounds = 5): string[] {
  const memory = new GuestMemory(createSharedRamBacking(0x100000), [{ gpa: 0, size: 0x100000, offset: 0 }]);
  const cpu = new SoftCpu(new PagedLinearMemory(new Mmu(memory, createPortBus())), createPortBus());
  memory.writeBytes(0x7c00, Uint8Array.from(LOOP));
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const s = resetCpuState();
    s.cs = { ...s.cs, selector: 0, base: 0n };
    s.rip = 0x7c00n;
    cpu.regs.load(s);
    cpu.halted = false;
    const start = process.hrtime.bigint();
    const n = cpu.run(INSTRUCTIONS + 10);
    const ns = Number(process.hrtime.bigint() - start);
    if (n !== INSTRUCTIONS) throw new Error(`interpreter ran ${n} instructions, expected ${INSTRUCTIONS}`);
    rates.push((n / ns) * 1e3);
  }
  rates.sort((a, b) => a - b);
  return [
    `  real-mode ALU/memory/branch loop, ${INSTRUCTIONS} instructions x ${rounds} rounds`,
    `  interpreter: median ${rates[rates.length >> 1].toFixed(1)} MIPS (best ${rates[rates.length - 1].toFixed(1)})`,
  ];
}
