/**
 * `--trace=cpu`: the software CPU's execution narrated one instruction a line, for
 * teaching and debugging (QEMU's `-d in_asm,exec,int` folded into one stream):
 *
 *   0008:00100010  00100010  b8 01 00 00 00            mov eax,0x1
 *   0008:00100015  00100015  cd 30                     int 0x30
 *   -- exception #GP at 0008:00100015 (linear 00100015)
 *   -- interrupt 0x20 (external) at 0008:0010001a
 *
 * Columns: CS:IP (IP as wide as the code size), the linear address, the instruction bytes
 * and the Intel-syntax disassembly (disasm/intel.ts). An address filter (linear, inclusive)
 * keeps the lines to a range; events are shown when the CPU is inside it.
 *
 * The tracer steps the CPU with `cpu.step()`; the run loop uses it instead of `cpu.run()`
 * only while tracing is on, so the interpreter's hot loop carries no trace test. It decodes
 * each instruction a second time for the text: reading the bytes goes through the same
 * linear memory the CPU fetches from, so a fetch that would fault prints as "(fetch fault)"
 * and the CPU then raises the fault itself.
 */
import { decode, type ByteSource } from '../decoder/decoder.js';
import { CpuMode, DecodeStatus, Instruction, newInstruction } from '../decoder/instruction.js';
import { disassemble } from '../disasm/intel.js';
import type { SoftCpu } from '../interp/soft-cpu.js';
import { Seg } from '../state/segment-cache.js';

/** Linear addresses START-END, both inclusive. */
export interface CpuTraceRange {
  start: number;
  end: number;
}

export interface CpuTraceOptions {
  /** Receives each line, without a newline. */
  write: (line: string) => void;
  /** Only instructions whose linear address lies here; null or absent: all. */
  range?: CpuTraceRange | null;
}

const EXCEPTION_NAMES = [
  '#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', '#MF(coprocessor overrun)', '#TS', '#NP', '#SS', '#GP', '#PF', '#15',
  '#MF', '#AC', '#MC', '#XM', '#VE', '#CP',
];
const VECTOR_PF = 14;
const TWO_32 = 4294967296;

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/** The instruction bytes at CS:IP through the CPU's own linear memory, kept for printing. */
class TracedBytes implements ByteSource {
  base = 0;
  wrap16 = false;
  long = false;
  /** 64-bit mode: RIP bits 63:32 (signed) x 2^32, as SoftCpu forms canonical fetch addresses. */
  hiBase = 0;
  count = 0;
  readonly bytes = new Uint8Array(16);

  constructor(private readonly cpu: SoftCpu) {}

  fetch8(ip: number): number {
    const linear = this.long ? this.hiBase + ip : this.wrap16 ? (this.base + (ip & 0xffff)) >>> 0 : (this.base + ip) >>> 0;
    const b = this.cpu.mem.fetch8(linear);
    if (this.count < this.bytes.length) this.bytes[this.count++] = b;
    return b;
  }
}

export class CpuTracer {
  /** Lines written (instructions and events). */
  lines = 0;
  private readonly insn = newInstruction();
  private readonly code: TracedBytes;
  private readonly range: CpuTraceRange | null;

  constructor(private readonly cpu: SoftCpu, private readonly options: CpuTraceOptions) {
    this.code = new TracedBytes(cpu);
    this.range = options.range ?? null;
  }

  /**
   * Runs up to `count` instructions one at a time (stopping at HLT, or once PAUSE used up the
   * burst's time, as SoftCpu.run does), writing each one in range before it executes and any
   * exception it raises after. Returns the number of instructions retired.
   */
  run(count: number): number {
    const cpu = this.cpu;
    const before = cpu.retired;
    for (let i = 0; i < count && !cpu.halted && !cpu.timeUp(); i++) {
      const shown = this.inRange(this.linearIp());
      if (shown) this.writeInstruction();
      cpu.lastException = -1;
      cpu.step();
      if (cpu.lastException >= 0 && shown) this.exception(cpu.lastException);
    }
    return cpu.retired - before;
  }

  /** Narrates an interrupt the run loop is about to deliver (before the CPU state changes). */
  interrupt(vector: number, kind: 'external' | 'NMI'): void {
    if (!this.inRange(this.linearIp())) return;
    this.emit(`-- interrupt 0x${hex(vector, 2)} (${kind}) at ${this.csIp()}${this.cpu.halted ? ', waking from HLT' : ''}`);
  }

  private exception(vector: number): void {
    const name = EXCEPTION_NAMES[vector] ?? `vector 0x${hex(vector, 2)}`;
    const r = this.cpu.regs;
    const extra = vector === VECTOR_PF ? ` (cr2 ${hex(r.cr2 >>> 0, 8)})` : '';
    this.emit(`-- exception ${name}${extra}, delivered; now at ${this.csIp()}`);
  }

  private emit(line: string): void {
    this.lines++;
    this.options.write(line);
  }

  private inRange(linear: number): boolean {
    const range = this.range;
    return range === null || (linear >= range.start && linear <= range.end);
  }

  private ipDigits(mode: CpuMode): number {
    return mode === CpuMode.Bits16 ? 4 : mode === CpuMode.Bits32 ? 8 : 16;
  }

  /** The current IP (outside 64-bit mode; see rip64 for RIP). */
  private ip(mode: CpuMode): number {
    const r = this.cpu.regs;
    return mode === CpuMode.Bits16 ? r.rip & 0xffff : r.rip >>> 0;
  }

  /** RIP as the unsigned 64-bit value it is. */
  private rip64(): bigint {
    const r = this.cpu.regs;
    return (BigInt(r.ripHi >>> 0) << 32n) | BigInt(r.rip >>> 0);
  }

  /** The linear address of the next instruction; in 64-bit mode a signed canonical number. */
  private linearIp(): number {
    const mode = this.cpu.mode;
    const r = this.cpu.regs;
    if (mode === CpuMode.Bits64) return (r.ripHi | 0) * TWO_32 + (r.rip >>> 0);
    return ((r.seg.base[Seg.CS] >>> 0) + this.ip(mode)) % TWO_32;
  }

  private ipText(mode: CpuMode): string {
    return mode === CpuMode.Bits64 ? this.rip64().toString(16).padStart(16, '0') : hex(this.ip(mode), this.ipDigits(mode));
  }

  private csIp(): string {
    return `${hex(this.cpu.regs.seg.selector[Seg.CS] & 0xffff, 4)}:${this.ipText(this.cpu.mode)}`;
  }

  private writeInstruction(): void {
    const cpu = this.cpu;
    const mode = cpu.mode;
    const long = mode === CpuMode.Bits64;
    const ip = this.ip(mode);
    const code = this.code;
    code.base = long ? 0 : cpu.regs.seg.base[Seg.CS] >>> 0;
    code.wrap16 = mode === CpuMode.Bits16;
    code.long = long;
    code.hiBase = long ? (cpu.regs.ripHi | 0) * TWO_32 : 0;
    code.count = 0;
    let text: string;
    try {
      const status = decode(code, ip, mode, this.insn);
      text = status === DecodeStatus.Ok ? disassemble(this.insn, long ? this.rip64() : ip) : '(bad)';
    } catch {
      text = '(fetch fault)';
    }
    let bytes = '';
    for (let i = 0; i < code.count; i++) bytes += (i ? ' ' : '') + hex(code.bytes[i], 2);
    // CS base is 0 in 64-bit mode: the linear address is RIP.
    const linearText = long ? this.ipText(mode) : hex(this.linearIp(), 8);
    this.emit(`${this.csIp()}  ${linearText}  ${bytes.padEnd(30)} ${text}`);
  }
}
