import { describe, expect, it } from 'vitest';
import { AcpiPmControl, PM1_CNT_SCI_EN, PM1_CNT_SLP_EN } from '../src/acpi-pm-control.js';

describe('AcpiPmControl', () => {
  it('powers off when SLP_EN is written with SLP_TYP = S5', () => {
    let off = 0;
    const pm = new AcpiPmControl({ onPowerOff: () => off++ });
    pm.write(0, 2, PM1_CNT_SLP_EN);
    expect(off).toBe(1);
  });

  it('ignores other sleep types and reads SLP_EN back as zero', () => {
    let off = 0;
    const pm = new AcpiPmControl({ onPowerOff: () => off++ });
    pm.write(0, 2, PM1_CNT_SLP_EN | (1 << 10) | PM1_CNT_SCI_EN);
    expect(off).toBe(0);
    expect(pm.read(0, 2)).toBe((1 << 10) | PM1_CNT_SCI_EN);
  });

  it('accepts the power-off as two byte writes', () => {
    let off = 0;
    const pm = new AcpiPmControl({ onPowerOff: () => off++ });
    pm.write(0, 1, 0);
    pm.write(1, 1, PM1_CNT_SLP_EN >> 8);
    expect(off).toBe(1);
  });
});
