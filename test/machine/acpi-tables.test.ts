/**
 * The PC machine's ACPI tables, checked two ways: our own reading of the spec's layouts
 * (checksums, pointers, MADT entries) and ACPICA's disassembler (`iasl -d`, Debian's
 * acpica-tools), the reference implementation Linux itself is built on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAcpiTables, type AcpiMachineDescription } from '@tsemu/devices';
import { requireTool } from '../support/nasm.js';

const PC: AcpiMachineDescription = {
  apicIds: [0],
  localApicAddress: 0xfee00000,
  ioApic: { id: 0, address: 0xfec00000, gsiBase: 0 },
  pm: { eventBlock: 0x600, controlBlock: 0x604, timerBlock: 0x608, sciIrq: 9 },
};
const BASE = 0xe0000;

const blob = buildAcpiTables(PC, BASE);
const view = new DataView(blob.bytes.buffer, blob.bytes.byteOffset, blob.bytes.byteLength);
const at = (addr: number) => addr - BASE;
const sum = (from: number, length: number) => blob.bytes.subarray(from, from + length).reduce((s, b) => s + b, 0) & 0xff;
const sig = (addr: number) => String.fromCharCode(...blob.bytes.subarray(at(addr), at(addr) + 4));

/** Every table the RSDT points to, with its address. */
function rsdtTables(): { sig: string; addr: number; length: number }[] {
  const rsdt = view.getUint32(at(blob.rsdpAddress) + 16, true);
  const len = view.getUint32(at(rsdt) + 4, true);
  const out = [];
  for (let o = 36; o < len; o += 4) {
    const addr = view.getUint32(at(rsdt) + o, true);
    out.push({ sig: sig(addr), addr, length: view.getUint32(at(addr) + 4, true) });
  }
  return out;
}

describe('ACPI tables', () => {
  it('puts a revision-2 RSDP on a 16-byte boundary in the BIOS area with both checksums right', () => {
    const r = at(blob.rsdpAddress);
    expect(blob.rsdpAddress % 16).toBe(0);
    expect(blob.rsdpAddress).toBeGreaterThanOrEqual(0xe0000);
    expect(String.fromCharCode(...blob.bytes.subarray(r, r + 8))).toBe('RSD PTR ');
    expect(blob.bytes[r + 15]).toBe(2);
    expect(sum(r, 20)).toBe(0);
    expect(sum(r, 36)).toBe(0);
  });

  it('lists FADT and MADT in the RSDT and the XSDT, each table summing to zero', () => {
    const tables = rsdtTables();
    expect(tables.map((t) => t.sig)).toEqual(['FACP', 'APIC']);
    for (const t of tables) expect(sum(at(t.addr), t.length)).toBe(0);
    const xsdt = Number(view.getBigUint64(at(blob.rsdpAddress) + 24, true));
    expect(sig(xsdt)).toBe('XSDT');
    expect(Number(view.getBigUint64(at(xsdt) + 36, true))).toBe(tables[0].addr);
  });

  it('points the FADT at a 64-byte aligned FACS and a DSDT holding \\_S5, and at the PM blocks', () => {
    const fadt = at(rsdtTables()[0].addr);
    expect(view.getUint32(fadt + 36, true)).toBe(0);
    const facs = Number(view.getBigUint64(fadt + 132, true));
    const dsdt = view.getUint32(fadt + 40, true);
    expect(facs % 64).toBe(0);
    expect(sig(facs)).toBe('FACS');
    expect(sig(dsdt)).toBe('DSDT');
    expect(sum(at(dsdt), view.getUint32(at(dsdt) + 4, true))).toBe(0);
    expect(Buffer.from(blob.bytes.subarray(at(dsdt) + 36, at(dsdt) + 41)).toString('latin1')).toBe('\x08_S5_');
    expect(view.getUint16(fadt + 46, true)).toBe(9);
    expect(view.getUint32(fadt + 56, true)).toBe(0x600);
    expect(view.getUint32(fadt + 64, true)).toBe(0x604);
    expect(view.getUint32(fadt + 76, true)).toBe(0x608);
  });

  it('describes one enabled local APIC, the I/O APIC at GSI 0 and the PIT override to GSI 2 in the MADT', () => {
    const madt = at(rsdtTables()[1].addr);
    const len = view.getUint32(madt + 4, true);
    expect(view.getUint32(madt + 36, true)).toBe(0xfee00000);
    const entries: number[][] = [];
    for (let o = madt + 44; o < madt + len; o += blob.bytes[o + 1]) entries.push([...blob.bytes.subarray(o, o + blob.bytes[o + 1])]);
    expect(entries.map((e) => e[0])).toEqual([0, 1, 2, 2, 4]);
    expect(entries[0]).toEqual([0, 8, 0, 0, 1, 0, 0, 0]);
    expect(entries[1].slice(4, 8)).toEqual([0x00, 0x00, 0xc0, 0xfe]);
    expect(entries[2]).toEqual([2, 10, 0, 0, 2, 0, 0, 0, 0, 0]);
  });

  it('disassembles cleanly with ACPICA (iasl -d): right checksums and the fields Linux reads', () => {
    if (!requireTool('iasl (acpica-tools)', spawnSync('iasl', ['-v']).status === 0)) return;
    const dir = mkdtempSync(join(tmpdir(), 'tsemu-acpi-'));
    const dumped: Record<string, string> = {};
    const fadt = rsdtTables()[0].addr;
    const dsdt = view.getUint32(at(fadt) + 40, true);
    for (const t of [...rsdtTables(), { sig: 'DSDT', addr: dsdt, length: view.getUint32(at(dsdt) + 4, true) }]) {
      const file = join(dir, `${t.sig.toLowerCase()}.dat`);
      writeFileSync(file, blob.bytes.subarray(at(t.addr), at(t.addr) + t.length));
      const run = spawnSync('iasl', ['-d', file], { encoding: 'utf8' });
      expect(run.status, run.stderr + run.stdout).toBe(0);
      dumped[t.sig] = readFileSync(file.replace(/\.dat$/, '.dsl'), 'utf8');
      expect(dumped[t.sig]).not.toMatch(/Incorrect checksum|Invalid|Error/i);
    }
    expect(dumped.FACP).toMatch(/PM Timer Block Address : 00000608/);
    expect(dumped.FACP).toMatch(/8042 Present on ports 60\/64 \(V2\) : 1/);
    expect(dumped.APIC).toMatch(/Subtable Type : 01 \[I\/O APIC\]/);
    expect(dumped.DSDT).toMatch(/Name \(_S5, Package \(0x04\)/);
  });
});
