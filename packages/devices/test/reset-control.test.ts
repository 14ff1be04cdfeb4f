import { describe, expect, it } from 'vitest';
import { ResetControl } from '../src/reset-control.js';

describe('ResetControl (port 0xcf9)', () => {
  it('resets on a 0 -> 1 transition of RST_CPU, as Linux reboot=pci writes 0x02 then 0x06', () => {
    const reasons: string[] = [];
    const rc = new ResetControl((r) => reasons.push(r));
    rc.write(0, 1, 0x02);
    expect(reasons).toEqual([]);
    rc.write(0, 1, 0x06);
    expect(reasons).toEqual(['hard reset via port 0xcf9']);
    expect(rc.read(0, 1)).toBe(0x02);
  });

  it('reports a soft reset when SYS_RST is clear', () => {
    const reasons: string[] = [];
    new ResetControl((r) => reasons.push(r)).write(0, 1, 0x04);
    expect(reasons).toEqual(['soft reset via port 0xcf9']);
  });
});
