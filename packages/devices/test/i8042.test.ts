import { describe, expect, it } from 'vitest';
import { RecordingIrqLine } from '../src/platform/index.js';
import { I8042, I8042Cmd, I8042Ctr, I8042Status, i8042StateSchema } from '../src/i8042.js';

function setup() {
  const irqKeyboard = new RecordingIrqLine();
  const irqMouse = new RecordingIrqLine();
  const events: string[] = [];
  const kbc = new I8042({
    irqKeyboard,
    irqMouse,
    onReset: () => events.push('reset'),
    onA20: (on) => events.push(on ? 'a20 on' : 'a20 off'),
  });
  const status = () => kbc.commandPort.read(0, 1);
  const command = (cmd: number) => kbc.commandPort.write(0, 1, cmd);
  const writeData = (value: number) => kbc.dataPort.write(0, 1, value);
  /** Reads the output buffer while OBF is set, like Linux's i8042_flush. */
  const readAll = () => {
    const got: number[] = [];
    while (status() & I8042Status.OBF) got.push(kbc.dataPort.read(0, 1));
    return got;
  };
  const writeCtr = (ctr: number) => {
    command(I8042Cmd.WRITE_CTR);
    writeData(ctr);
  };
  return { kbc, irqKeyboard, irqMouse, events, status, command, writeData, readAll, writeCtr };
}

describe('I8042 controller commands', () => {
  it('answers the self test with 0x55 and sets the system flag', () => {
    const t = setup();
    t.writeCtr(I8042Ctr.XLATE); // clears the SYS flag
    expect(t.status() & I8042Status.SYSFLAG).toBe(0);
    t.command(I8042Cmd.SELF_TEST);
    expect(t.status() & I8042Status.OBF).toBe(I8042Status.OBF);
    expect(t.readAll()).toEqual([0x55]);
    expect(t.status() & I8042Status.SYSFLAG).toBe(I8042Status.SYSFLAG);
  });

  it('reads and writes the command byte', () => {
    const t = setup();
    t.command(I8042Cmd.READ_CTR);
    expect(t.readAll()).toEqual([I8042Ctr.KBDINT | I8042Ctr.SYSFLAG | I8042Ctr.AUXDIS | I8042Ctr.XLATE]);
    t.writeCtr(0x47);
    expect(t.kbc.commandByte).toBe(0x47);
    t.command(I8042Cmd.READ_CTR);
    expect(t.readAll()).toEqual([0x47]);
  });

  it('reports in status bit 3 whether the last write went to the command port', () => {
    const t = setup();
    t.command(I8042Cmd.WRITE_CTR);
    expect(t.status() & I8042Status.CMDDAT).toBe(I8042Status.CMDDAT);
    t.writeData(0x45);
    expect(t.status() & I8042Status.CMDDAT).toBe(0);
    expect(t.status() & (I8042Status.IBF | I8042Status.KEYLOCK)).toBe(I8042Status.KEYLOCK);
  });

  it('answers the interface tests with 0x00 and toggles the disable bits', () => {
    const t = setup();
    t.command(I8042Cmd.AUX_TEST);
    t.command(I8042Cmd.KBD_TEST);
    expect(t.readAll()).toEqual([0x00, 0x00]);
    t.command(I8042Cmd.AUX_ENABLE);
    t.command(I8042Cmd.KBD_DISABLE);
    expect(t.kbc.commandByte & (I8042Ctr.AUXDIS | I8042Ctr.KBDDIS)).toBe(I8042Ctr.KBDDIS);
    t.command(I8042Cmd.AUX_DISABLE);
    t.command(I8042Cmd.KBD_ENABLE);
    expect(t.kbc.commandByte & (I8042Ctr.AUXDIS | I8042Ctr.KBDDIS)).toBe(I8042Ctr.AUXDIS);
  });

  it('calls onReset for 0xFE and other even pulse commands, not for 0xFF', () => {
    const t = setup();
    t.command(0xff);
    expect(t.events).toEqual([]);
    t.command(0xfe);
    expect(t.events).toEqual(['reset']);
    t.command(0xf0);
    expect(t.events).toEqual(['reset', 'reset']);
  });

  it('resets when 0xD1 writes the output port with bit 0 clear', () => {
    const t = setup();
    t.command(I8042Cmd.WRITE_OUTPUT_PORT);
    t.writeData(0xdc);
    expect(t.events).toEqual(['a20 off', 'reset']);
  });

  it('switches A20 through 0xD1 and through 0xDD/0xDF', () => {
    const t = setup();
    expect(t.kbc.a20Enabled).toBe(true);
    t.command(I8042Cmd.WRITE_OUTPUT_PORT);
    t.writeData(0xdd);
    expect(t.kbc.a20Enabled).toBe(false);
    t.command(I8042Cmd.WRITE_OUTPUT_PORT);
    t.writeData(0xdf);
    expect(t.kbc.a20Enabled).toBe(true);
    t.command(I8042Cmd.A20_DISABLE);
    t.command(I8042Cmd.READ_OUTPUT_PORT);
    expect(t.readAll()[0] & 0x02).toBe(0);
    t.command(I8042Cmd.A20_ENABLE);
    expect(t.events).toEqual(['a20 off', 'a20 on', 'a20 off', 'a20 on']);
    expect(t.kbc.a20Enabled).toBe(true);
  });

  it('echoes 0xD3 as aux data with IRQ12, as Linux AUX loop and IRQ tests need', () => {
    const t = setup();
    t.writeCtr(I8042Ctr.AUXINT | I8042Ctr.XLATE);
    t.command(I8042Cmd.WRITE_AUX_OBUF);
    t.writeData(0xa5);
    expect(t.status() & (I8042Status.OBF | I8042Status.AUXDATA)).toBe(I8042Status.OBF | I8042Status.AUXDATA);
    expect(t.irqMouse.level).toBe(true);
    expect(t.irqKeyboard.level).toBe(false);
    expect(t.readAll()).toEqual([0xa5]);
    expect(t.irqMouse.level).toBe(false);
  });

  it('answers a byte for the absent mouse with 0xFE and the timeout bit', () => {
    const t = setup();
    t.command(I8042Cmd.WRITE_AUX);
    t.writeData(0xf2);
    const st = t.status();
    expect(st & (I8042Status.AUXDATA | I8042Status.TIMEOUT)).toBe(I8042Status.AUXDATA | I8042Status.TIMEOUT);
    expect(t.readAll()).toEqual([0xfe]);
    expect(t.status() & I8042Status.TIMEOUT).toBe(0);
  });

  it('reads back the last byte when the output buffer is empty', () => {
    const t = setup();
    t.command(I8042Cmd.SELF_TEST);
    t.readAll();
    expect(t.kbc.dataPort.read(0, 1)).toBe(0x55);
  });
});

describe('I8042 keyboard', () => {
  it('answers reset with ACK then BAT OK', () => {
    const t = setup();
    t.writeData(0xff);
    expect(t.readAll()).toEqual([0xfa, 0xaa]);
  });

  it('identifies as an MF2 keyboard, with the ID translated while XLATE is on', () => {
    const t = setup();
    t.writeData(0xf2);
    expect(t.readAll()).toEqual([0xfa, 0xab, 0x41]);
    t.writeCtr(I8042Ctr.KBDINT);
    t.writeData(0xf2);
    expect(t.readAll()).toEqual([0xfa, 0xab, 0x83]);
  });

  it('acknowledges LEDs, typematic, enable, disable and echoes 0xEE', () => {
    const t = setup();
    for (const b of [0xed, 0x07, 0xf3, 0x20, 0xf4, 0xf5, 0xee]) t.writeData(b);
    expect(t.readAll()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xee]);
  });

  it('sets and reports the scan code set', () => {
    const t = setup();
    t.writeCtr(I8042Ctr.KBDINT);
    t.writeData(0xf0);
    t.writeData(0x01);
    t.writeData(0xf0);
    t.writeData(0x00);
    expect(t.readAll()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0x01]);
  });

  it('drops host key bytes while scanning is disabled', () => {
    const t = setup();
    t.writeData(0xf5);
    t.readAll();
    t.kbc.injectScancodes([0x1e, 0x9e]);
    expect(t.readAll()).toEqual([]);
    t.writeData(0xf4);
    t.kbc.injectScancodes([0x1e, 0x9e]);
    expect(t.readAll()).toEqual([0xfa, 0x1e, 0x9e]);
    expect(t.kbc.counters.droppedKeys).toBe(2);
  });

  it('holds keyboard bytes while the interface is disabled; controller replies go first', () => {
    const t = setup();
    t.command(I8042Cmd.KBD_DISABLE);
    t.kbc.injectScancodes([0x1c]);
    expect(t.status() & I8042Status.OBF).toBe(0);
    t.command(I8042Cmd.READ_INPUT_PORT);
    t.command(I8042Cmd.KBD_ENABLE);
    expect(t.readAll()).toEqual([0x80, 0x1c]);
  });

  it('raises IRQ1 when the output buffer fills and keyboard interrupts are on, one edge per byte', () => {
    const t = setup();
    t.writeCtr(I8042Ctr.XLATE);
    t.kbc.injectScancodes([0x1e]);
    expect(t.status() & I8042Status.OBF).toBe(I8042Status.OBF);
    expect(t.irqKeyboard.level).toBe(false);
    t.readAll();
    t.writeCtr(I8042Ctr.KBDINT | I8042Ctr.XLATE);
    t.kbc.injectScancodes([0x1e, 0x9e]);
    expect(t.irqKeyboard.level).toBe(true);
    expect(t.kbc.dataPort.read(0, 1)).toBe(0x1e);
    expect(t.irqKeyboard.level).toBe(true);
    expect(t.kbc.dataPort.read(0, 1)).toBe(0x9e);
    expect(t.irqKeyboard.level).toBe(false);
    expect(t.irqKeyboard.rises).toBe(2);
    expect(t.irqMouse.rises).toBe(0);
  });
});

describe('I8042 snapshot', () => {
  it('restores pending bytes, command byte and keyboard state from JSON', () => {
    const a = setup();
    a.writeCtr(I8042Ctr.KBDINT);
    a.writeData(0xf2);
    a.kbc.dataPort.read(0, 1);
    a.command(I8042Cmd.WRITE_CTR); // left pending across the snapshot
    const b = setup();
    b.kbc.restore(i8042StateSchema.parse(JSON.parse(JSON.stringify(a.kbc.save()))));
    expect(b.irqKeyboard.level).toBe(true);
    expect(b.readAll()).toEqual([0xab, 0x83]);
    b.writeData(0x41);
    expect(b.kbc.commandByte).toBe(0x41);
  });

  it('refuses a state of another version', () => {
    const { kbc } = setup();
    expect(() => kbc.restore({ ...kbc.save(), version: 2 } as never)).toThrow();
  });
});
