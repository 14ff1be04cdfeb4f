import { describe, expect, it } from 'vitest';
import { IrqPin } from '../../src/machine/irq-pin.js';
import { RecordingIrqLine } from '../../src/platform/index.js';

describe('IrqPin', () => {
  it('replays a level raised before it was connected', () => {
    const pin = new IrqPin();
    pin.setLevel(true);
    const line = new RecordingIrqLine();
    pin.connect(line);
    expect(line.level).toBe(true);
    expect(line.rises).toBe(1);
  });

  it('forwards later changes to the connected line', () => {
    const pin = new IrqPin();
    const line = new RecordingIrqLine();
    pin.connect(line);
    pin.setLevel(true);
    pin.setLevel(false);
    pin.setLevel(true);
    expect(line.rises).toBe(2);
    expect(line.level).toBe(true);
  });
});
