/**
 * One trace line per vCPU exit, for the teaching view:
 *   exit IO out port 0x3f8 size 1 count 1 data 0x68 ('h')
 *   exit IO in port 0x60 size 1 count 1 -> 0xff
 *   exit MMIO read 0xd0000000 len 4 -> 0xffffffff
 *   exit HLT
 * Called after the exit was served, so IN and MMIO-read lines show the answer.
 */
import type { VcpuExit } from './exit-dispatch.js';
import { exitReasonName } from './structs/kvm-run.js';
import { hex } from './trace.js';

/** At most this many elements of a REP INS/OUTS are printed. */
const MAX_ELEMENTS = 8;

function elements(data: Uint8Array, size: number, count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < Math.min(count, MAX_ELEMENTS); i++) {
    let v = 0;
    for (let b = size - 1; b >= 0; b--) v = v * 256 + data[i * size + b];
    parts.push(hex(v));
  }
  if (count > MAX_ELEMENTS) parts.push('...');
  return parts.join(' ');
}

function quoted(data: Uint8Array, count: number): string {
  let s = '';
  for (let i = 0; i < Math.min(count, MAX_ELEMENTS); i++) {
    const c = data[i];
    s += c === 0x27 || c === 0x5c ? `\\${String.fromCharCode(c)}`
      : c >= 0x20 && c < 0x7f ? String.fromCharCode(c)
        : c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `'${s}${count > MAX_ELEMENTS ? '...' : ''}'`;
}

function littleEndian(data: Uint8Array): bigint {
  let v = 0n;
  for (let i = data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]);
  return v;
}

export function describeExit(exit: VcpuExit): string {
  switch (exit.kind) {
    case 'io': {
      const head = `exit IO ${exit.direction} port ${hex(exit.port)} size ${exit.size} count ${exit.count}`;
      const values = elements(exit.data, exit.size, exit.count);
      if (exit.direction === 'in') return `${head} -> ${values}`;
      return `${head} data ${values}${exit.size === 1 ? ` (${quoted(exit.data, exit.count)})` : ''}`;
    }
    case 'mmio': {
      const head = `exit MMIO ${exit.direction} ${hex(exit.address)} len ${exit.data.length}`;
      const value = hex(littleEndian(exit.data));
      return exit.direction === 'read' ? `${head} -> ${value}` : `${head} data ${value}`;
    }
    case 'hlt':
      return 'exit HLT';
    case 'shutdown':
      return 'exit SHUTDOWN (triple fault)';
    case 'irq-window-open':
      return 'exit IRQ_WINDOW_OPEN';
    case 'intr':
      return 'exit INTR';
    case 'fail-entry':
      return `exit FAIL_ENTRY hardware_entry_failure_reason ${hex(exit.hardwareEntryFailureReason)}`;
    case 'internal-error':
      return `exit INTERNAL_ERROR suberror ${exit.suberror}`;
    case 'system-event':
      return `exit SYSTEM_EVENT ${exit.type}`;
    case 'unknown':
      return `exit ${exitReasonName(exit.reason)} (unhandled)`;
  }
}
