/**
 * Register map of the MC146818A RTC, the PC's layout of the CMOS RAM behind it, and the
 * encoding of the time registers (MC146818A datasheet address map and registers A-D;
 * PC/AT CMOS conventions as QEMU hw/i386/pc.c pc_cmos_init fills them):
 * - Time registers 0x00 seconds, 0x02 minutes, 0x04 hours (12-hour mode: 1-12, bit 7 =
 *   PM), 0x06 day of week (1 = Sunday), 0x07 date, 0x08 month, 0x09 year, 0x32 century;
 *   alarms at 0x01/0x03/0x05, where a value with bits 7:6 = 11 matches anything.
 *   Register B's DM bit (binary or BCD) and 24/12 bit apply to all of them.
 * - Memory size bytes read by BIOSes and bootloaders: 0x15-0x18, 0x30-0x31, 0x34-0x35, 0x5B-0x5D.
 *
 * Kept apart from rtc-mc146818.ts, which models the time base, the divider chain and the
 * interrupts, so the calendar encoding and the CMOS layout can be read on their own;
 * rtc-mc146818.ts re-exports the register constants.
 */

export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
/** Shutdown status byte read by the BIOS after a reset. */
export const CMOS_SHUTDOWN_STATUS = 0x0f;
export const RTC_CENTURY = 0x32;

/** Bits of registers A-D, with the datasheet's names. */
export const REG_A_UIP = 0x80;
export const REG_B_SET = 0x80;
export const REG_B_PIE = 0x40;
export const REG_B_AIE = 0x20;
export const REG_B_UIE = 0x10;
export const REG_B_SQWE = 0x08;
export const REG_B_DM = 0x04;
export const REG_B_24H = 0x02;
export const REG_C_IRQF = 0x80;
export const REG_C_PF = 0x40;
export const REG_C_AF = 0x20;
export const REG_C_UF = 0x10;
export const REG_D_VRT = 0x80;

/** Bytes of RTC registers plus battery-backed CMOS RAM. */
export const CMOS_SIZE = 128;

/** The registers that hold the time of day (the alarms are separate). */
export const RTC_TIME_REGISTERS: ReadonlySet<number> = new Set([
  RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY_OF_WEEK, RTC_DAY_OF_MONTH, RTC_MONTH, RTC_YEAR, RTC_CENTURY,
]);

const toBcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);
const fromBcd = (v: number): number => (v >> 4) * 10 + (v & 0x0f);

/** A time field as stored: binary when Register B's DM bit is set, BCD otherwise. */
function encode(cmos: Uint8Array, v: number): number {
  return cmos[RTC_REG_B] & REG_B_DM ? v : toBcd(v);
}

function decode(cmos: Uint8Array, v: number): number {
  return cmos[RTC_REG_B] & REG_B_DM ? v : fromBcd(v);
}

/** Writes `sec` (seconds since the Unix epoch, UTC) into the time registers in the format Register B selects. */
export function encodeTime(cmos: Uint8Array, sec: number): void {
  const d = new Date(sec * 1000);
  const h = d.getUTCHours();
  cmos[RTC_SECONDS] = encode(cmos, d.getUTCSeconds());
  cmos[RTC_MINUTES] = encode(cmos, d.getUTCMinutes());
  cmos[RTC_HOURS] = cmos[RTC_REG_B] & REG_B_24H ? encode(cmos, h) : encode(cmos, h % 12 || 12) | (h >= 12 ? 0x80 : 0);
  cmos[RTC_DAY_OF_WEEK] = encode(cmos, d.getUTCDay() + 1);
  cmos[RTC_DAY_OF_MONTH] = encode(cmos, d.getUTCDate());
  cmos[RTC_MONTH] = encode(cmos, d.getUTCMonth() + 1);
  cmos[RTC_YEAR] = encode(cmos, d.getUTCFullYear() % 100);
  cmos[RTC_CENTURY] = encode(cmos, Math.floor(d.getUTCFullYear() / 100));
}

/**
 * The time the registers hold, in seconds since the Unix epoch (day of week ignored),
 * or null when they name no representable date.
 */
export function decodeTime(cmos: Uint8Array): number | null {
  let hour = decode(cmos, cmos[RTC_HOURS] & 0x7f);
  if (!(cmos[RTC_REG_B] & REG_B_24H)) hour = (hour % 12) + (cmos[RTC_HOURS] & 0x80 ? 12 : 0);
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  d.setUTCFullYear(
    decode(cmos, cmos[RTC_CENTURY]) * 100 + decode(cmos, cmos[RTC_YEAR]), decode(cmos, cmos[RTC_MONTH]) - 1,
    decode(cmos, cmos[RTC_DAY_OF_MONTH]),
  );
  d.setUTCHours(hour, decode(cmos, cmos[RTC_MINUTES]), decode(cmos, cmos[RTC_SECONDS]), 0);
  const ms = d.getTime();
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** True when seconds, minutes and hours each equal their alarm byte or the alarm byte is "don't care". */
export function alarmMatches(cmos: Uint8Array): boolean {
  const match = (alarm: number, reg: number): boolean => (cmos[alarm] & 0xc0) === 0xc0 || cmos[alarm] === cmos[reg];
  return match(RTC_SECONDS_ALARM, RTC_SECONDS) && match(RTC_MINUTES_ALARM, RTC_MINUTES) && match(RTC_HOURS_ALARM, RTC_HOURS);
}

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * Fills the memory size bytes as QEMU's pc_cmos_init does: 0x15/0x16 base memory in
 * KiB (at most 640), 0x17/0x18 and 0x30/0x31 KiB above 1 MiB (at most 65535),
 * 0x34/0x35 64 KiB units above 16 MiB below 4 GiB, 0x5B-0x5D 64 KiB units above 4 GiB.
 */
export function writeCmosMemorySize(cmos: Uint8Array, totalLowBytes: number, highBytes: number): void {
  const put16 = (index: number, v: number): void => {
    cmos[index] = v & 0xff;
    cmos[index + 1] = (v >> 8) & 0xff;
  };
  put16(0x15, Math.min(Math.floor(totalLowBytes / KIB), 640));
  const ext = totalLowBytes > MIB ? Math.min(Math.floor((totalLowBytes - MIB) / KIB), 0xffff) : 0;
  put16(0x17, ext);
  put16(0x30, ext);
  put16(0x34, totalLowBytes > 16 * MIB ? Math.min(Math.floor((totalLowBytes - 16 * MIB) / (64 * KIB)), 0xffff) : 0);
  const high = Math.floor(highBytes / (64 * KIB));
  cmos[0x5b] = high & 0xff;
  cmos[0x5c] = Math.floor(high / 0x100) & 0xff;
  cmos[0x5d] = Math.floor(high / 0x10000) & 0xff;
}
