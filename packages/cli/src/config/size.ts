/** Parses memory sizes the way QEMU's -m does: a bare number is MiB; K, M, G, T suffixes. */
import { ConfigError } from './errors.js';

const UNITS: Record<string, number> = { '': 2 ** 20, B: 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

export function parseMemorySize(text: string | number): number {
  const s = String(text).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgtBKMGT]?)(?:i?[bB])?$/.exec(s);
  if (!m) throw new ConfigError(`invalid memory size '${s}' (examples: 512, 512M, 2G)`);
  const bytes = Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()]);
  if (!Number.isSafeInteger(bytes)) throw new ConfigError(`memory size '${s}' is too large`);
  return bytes;
}

/** Parses a number written in decimal or with a 0x prefix (QEMU accepts both for iobase). */
export function parseInteger(text: string | number, what: string): number {
  const s = String(text).trim();
  const n = /^0x[0-9a-f]+$/i.test(s) ? parseInt(s, 16) : /^\d+$/.test(s) ? parseInt(s, 10) : NaN;
  if (!Number.isSafeInteger(n)) throw new ConfigError(`invalid ${what} '${s}'`);
  return n;
}
