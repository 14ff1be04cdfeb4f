import { describe, expect, it } from 'vitest';
import { RecordingIrqLine } from '../src/platform/index.js';
import {
  COM_PORTS, Uart16550, UartFcr, UartIer, UartIir, UartLsr, UartMcr, UartMsr, UartReg, UART_LCR_DLAB,
  uart16550StateSchema,
} from '../src/uart-16550.js';

function setup() {
  const irq = new RecordingIrqLine();
  const sent: number[] = [];
  const uart = new Uart16550({ irq, output: (bytes) => sent.push(...bytes) });
  const rd = (reg: number) => uart.read(reg, 1);
  const wr = (reg: number, value: number) => uart.write(reg, 1, value);
  /** Reads RBR while LSR.DR is set, like Linux's receive loop. */
  const drain = () => {
    const got: number[] = [];
    while (rd(UartReg.LSR) & UartLsr.DR) got.push(rd(UartReg.RBR_THR));
    return got;
  };
  return { uart, irq, sent, rd, wr, drain };
}

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('Uart16550 registers', () => {
  it('keeps any byte in the scratch register', () => {
    const { rd, wr } = setup();
    for (const v of [0x00, 0x5a, 0xa5, 0xff]) {
      wr(UartReg.SCR, v);
      expect(rd(UartReg.SCR)).toBe(v);
    }
  });

  it('maps offsets 0 and 1 to the divisor latch while LCR.DLAB is set', () => {
    const { uart, rd, wr, sent } = setup();
    wr(UartReg.LCR, UART_LCR_DLAB | 0x03);
    wr(UartReg.RBR_THR, 0x01);
    wr(UartReg.IER, 0x02);
    expect(rd(UartReg.RBR_THR)).toBe(0x01);
    expect(rd(UartReg.IER)).toBe(0x02);
    expect(uart.divisor).toBe(0x0201);
    expect(sent).toEqual([]);
    wr(UartReg.LCR, 0x03);
    expect(rd(UartReg.LCR)).toBe(0x03);
    expect(rd(UartReg.IER)).toBe(0);
    wr(UartReg.RBR_THR, 0x41);
    expect(sent).toEqual([0x41]);
    expect(uart.divisor).toBe(0x0201);
  });

  it('reads back only the four defined IER bits, as Linux autoconfig checks', () => {
    const { rd, wr } = setup();
    wr(UartReg.IER, 0xff);
    expect(rd(UartReg.IER)).toBe(0x0f);
    wr(UartReg.IER, 0);
    expect(rd(UartReg.IER)).toBe(0);
  });

  it('identifies as a 16550A: IIR bits 7:6 set with FIFOs on, bit 5 clear', () => {
    const { rd, wr } = setup();
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.NO_INT);
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE | 0x20);
    const iir = rd(UartReg.IIR_FCR);
    expect(iir >> 6).toBe(3);
    expect(iir & 0x20).toBe(0);
    wr(UartReg.IIR_FCR, 0);
    expect(rd(UartReg.IIR_FCR) >> 6).toBe(0);
  });

  it('exports the four COM ports with their ISA IRQs', () => {
    expect(COM_PORTS.map((p) => [p.base, p.irq])).toEqual([[0x3f8, 4], [0x2f8, 3], [0x3e8, 4], [0x2e8, 3]]);
  });
});

describe('Uart16550 transmit', () => {
  it('sends THR bytes to output at once and leaves THRE|TEMT set', () => {
    const { rd, wr, sent } = setup();
    for (const c of 'hi\n') wr(UartReg.RBR_THR, c.charCodeAt(0));
    expect(sent).toEqual([0x68, 0x69, 0x0a]);
    expect(rd(UartReg.LSR) & (UartLsr.THRE | UartLsr.TEMT)).toBe(UartLsr.THRE | UartLsr.TEMT);
  });

  it('raises THRE when ETBEI is enabled and clears it on the IIR read that reports it', () => {
    const { irq, rd, wr } = setup();
    wr(UartReg.MCR, UartMcr.OUT2);
    wr(UartReg.IER, UartIer.ETBEI);
    expect(irq.level).toBe(true);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.THRE);
    expect(irq.level).toBe(false);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.NO_INT);
  });

  it('raises THRE again when ETBEI is turned off and on (Linux THRE test)', () => {
    const { irq, rd, wr } = setup();
    wr(UartReg.MCR, UartMcr.OUT2);
    wr(UartReg.IER, UartIer.ETBEI);
    const iir1 = rd(UartReg.IIR_FCR);
    wr(UartReg.IER, 0);
    wr(UartReg.IER, UartIer.ETBEI);
    const iir2 = rd(UartReg.IIR_FCR);
    expect(iir1).toBe(UartIir.THRE);
    expect(iir2 & UartIir.NO_INT).toBe(0);
    expect(irq.rises).toBe(2);
  });

  it('rewriting IER without changing ETBEI does not re-raise a cleared THRE', () => {
    const { rd, wr } = setup();
    wr(UartReg.IER, UartIer.ETBEI);
    rd(UartReg.IIR_FCR);
    wr(UartReg.IER, UartIer.ETBEI | UartIer.ERBFI);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.NO_INT);
  });

  it('gives each THR write a fresh THRE edge while ETBEI is on', () => {
    const { irq, rd, wr } = setup();
    wr(UartReg.MCR, UartMcr.OUT2);
    wr(UartReg.IER, UartIer.ETBEI);
    rd(UartReg.IIR_FCR);
    wr(UartReg.RBR_THR, 0x41);
    expect(irq.level).toBe(true);
    wr(UartReg.RBR_THR, 0x42);
    expect(irq.rises).toBe(3);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.THRE);
  });
});

describe('Uart16550 receive', () => {
  it('raises RX data available for a byte with FIFOs off and clears it when RBR is read', () => {
    const { uart, irq, rd, wr } = setup();
    wr(UartReg.MCR, UartMcr.OUT2);
    wr(UartReg.IER, UartIer.ERBFI);
    uart.receive(Uint8Array.of(0x41));
    expect(rd(UartReg.LSR) & UartLsr.DR).toBe(UartLsr.DR);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.RX_DATA);
    expect(irq.level).toBe(true);
    expect(rd(UartReg.RBR_THR)).toBe(0x41);
    expect(rd(UartReg.LSR) & UartLsr.DR).toBe(0);
    expect(irq.level).toBe(false);
  });

  it.each([
    [1, 0x00],
    [4, 0x40],
    [8, 0x80],
    [14, 0xc0],
  ])('reports RX data at a trigger level of %i bytes and a character timeout below it', (level, bits) => {
    const { uart, rd, wr } = setup();
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE | bits);
    wr(UartReg.IER, UartIer.ERBFI);
    if (level > 1) {
      uart.receive(bytes(level - 1));
      expect(rd(UartReg.IIR_FCR)).toBe(UartIir.FIFOS_ENABLED | UartIir.CHAR_TIMEOUT);
    }
    uart.receive(Uint8Array.of(0xee));
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.FIFOS_ENABLED | UartIir.RX_DATA);
  });

  it('raises the character timeout at once after a receive and drops it when the FIFO empties', () => {
    const { uart, irq, rd, wr, drain } = setup();
    wr(UartReg.MCR, UartMcr.OUT2);
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE | 0x80);
    wr(UartReg.IER, UartIer.ERBFI);
    uart.receive(Uint8Array.of(0x31, 0x32));
    expect(irq.level).toBe(true);
    expect(rd(UartReg.IIR_FCR) & 0x0f).toBe(UartIir.CHAR_TIMEOUT);
    expect(drain()).toEqual([0x31, 0x32]);
    expect(irq.level).toBe(false);
    expect(rd(UartReg.IIR_FCR) & 0x0f).toBe(UartIir.NO_INT);
  });

  it('tracks LSR.DR with the FIFO contents', () => {
    const { uart, rd, wr } = setup();
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE);
    expect(rd(UartReg.LSR) & UartLsr.DR).toBe(0);
    uart.receive(Uint8Array.of(1, 2));
    expect(rd(UartReg.LSR) & UartLsr.DR).toBe(UartLsr.DR);
    rd(UartReg.RBR_THR);
    expect(rd(UartReg.LSR) & UartLsr.DR).toBe(UartLsr.DR);
    rd(UartReg.RBR_THR);
    expect(rd(UartReg.LSR) & UartLsr.DR).toBe(0);
  });

  it('holds 16 bytes in the FIFO and queues the rest, losing none of 100 bytes', () => {
    const { uart, rd, wr, drain } = setup();
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE);
    expect(uart.canReceive()).toBe(true);
    const input = bytes(100, 7);
    uart.receive(input);
    expect(uart.pendingInput).toBe(100);
    expect(uart.canReceive()).toBe(false);
    expect(drain()).toEqual(Array.from(input));
    expect(uart.pendingInput).toBe(0);
    expect(uart.canReceive()).toBe(true);
    expect(rd(UartReg.LSR) & (UartLsr.DR | UartLsr.OE)).toBe(0);
  });

  it('with FIFOs off holds one byte and feeds the rest from the host queue in order', () => {
    const { uart, drain } = setup();
    uart.receive(Uint8Array.of(1, 2));
    uart.receive(Uint8Array.of(3));
    expect(uart.canReceive()).toBe(false);
    expect(drain()).toEqual([1, 2, 3]);
  });

  it('copies host input, so the caller may reuse its buffer', () => {
    const { uart, wr, drain } = setup();
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE);
    const buf = bytes(40);
    uart.receive(buf);
    buf.fill(0xff);
    expect(drain()).toEqual(Array.from(bytes(40)));
  });

  it('discards the hardware FIFO on an RX FIFO reset but keeps the host queue', () => {
    const { uart, wr, drain } = setup();
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE);
    uart.receive(bytes(20));
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE | UartFcr.RCVR_FIFO_RESET);
    expect(drain()).toEqual([16, 17, 18, 19]);
  });
});

describe('Uart16550 modem control', () => {
  it('reads CTS|DSR|DCD in MSR outside loopback', () => {
    const { rd } = setup();
    expect(rd(UartReg.MSR)).toBe(UartMsr.CTS | UartMsr.DSR | UartMsr.DCD);
  });

  it('mirrors MCR into MSR in loopback, as Linux autoconfig tests', () => {
    const { rd, wr } = setup();
    wr(UartReg.MCR, UartMcr.LOOP | UartMcr.OUT2 | UartMcr.RTS);
    expect(rd(UartReg.MSR) & 0xf0).toBe(UartMsr.DCD | UartMsr.CTS);
    wr(UartReg.MCR, UartMcr.LOOP | UartMcr.DTR | UartMcr.OUT1);
    expect(rd(UartReg.MSR) & 0xf0).toBe(UartMsr.DSR | UartMsr.RI);
  });

  it('receives THR bytes in loopback instead of sending them, and holds host input until it ends', () => {
    const { uart, sent, wr, drain } = setup();
    wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE);
    wr(UartReg.MCR, UartMcr.LOOP);
    uart.receive(Uint8Array.of(0x68, 0x6f, 0x73, 0x74));
    wr(UartReg.RBR_THR, 0x55);
    expect(sent).toEqual([]);
    expect(drain()).toEqual([0x55]);
    wr(UartReg.MCR, UartMcr.OUT2);
    expect(drain()).toEqual([0x68, 0x6f, 0x73, 0x74]);
  });

  it('drives the IRQ only while OUT2 is set and loopback is off', () => {
    const { uart, irq, rd, wr } = setup();
    wr(UartReg.IER, UartIer.ERBFI);
    uart.receive(Uint8Array.of(0x41));
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.RX_DATA);
    expect(irq.level).toBe(false);
    wr(UartReg.MCR, UartMcr.OUT2);
    expect(irq.level).toBe(true);
    wr(UartReg.MCR, UartMcr.OUT2 | UartMcr.LOOP);
    expect(irq.level).toBe(false);
    wr(UartReg.MCR, 0);
    expect(irq.level).toBe(false);
    wr(UartReg.MCR, UartMcr.OUT2);
    expect(irq.level).toBe(true);
    expect(irq.rises).toBe(2);
  });
});

describe('Uart16550 interrupt priorities', () => {
  it('reports line status, then RX data, then THRE, then modem status', () => {
    const { rd, wr } = setup();
    // Loopback with FIFOs off: a second byte overruns the first (LSR.OE); entering
    // loopback changed the modem lines (MSR deltas).
    wr(UartReg.MCR, UartMcr.LOOP | UartMcr.RTS);
    wr(UartReg.IER, 0x0f);
    wr(UartReg.RBR_THR, 0x01);
    wr(UartReg.RBR_THR, 0x02);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.RX_LINE_STATUS);
    expect(rd(UartReg.LSR) & UartLsr.OE).toBe(UartLsr.OE);
    expect(rd(UartReg.LSR) & UartLsr.OE).toBe(0);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.RX_DATA);
    expect(rd(UartReg.RBR_THR)).toBe(0x02);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.THRE);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.MODEM_STATUS);
    expect(rd(UartReg.MSR) & 0x0f).not.toBe(0);
    expect(rd(UartReg.IIR_FCR)).toBe(UartIir.NO_INT);
  });
});

describe('Uart16550 snapshot', () => {
  it('restores registers, FIFO and host queue from a JSON round trip', () => {
    const a = setup();
    a.wr(UartReg.IIR_FCR, UartFcr.FIFO_ENABLE | 0x80);
    a.wr(UartReg.LCR, 0x03);
    a.wr(UartReg.SCR, 0x77);
    a.wr(UartReg.MCR, UartMcr.OUT2 | UartMcr.DTR);
    a.wr(UartReg.IER, UartIer.ERBFI);
    a.uart.receive(bytes(30));
    a.rd(UartReg.RBR_THR);
    const json = JSON.parse(JSON.stringify(a.uart.save()));
    const b = setup();
    b.uart.restore(uart16550StateSchema.parse(json));
    expect(b.irq.level).toBe(true);
    expect(b.rd(UartReg.SCR)).toBe(0x77);
    expect(b.rd(UartReg.LCR)).toBe(0x03);
    expect(b.rd(UartReg.IIR_FCR)).toBe(UartIir.FIFOS_ENABLED | UartIir.RX_DATA);
    expect(b.drain()).toEqual(Array.from(bytes(29, 1)));
    expect(b.uart.save()).toEqual({ ...a.uart.save(), rxFifo: [], hostQueue: [], rbr: 29 });
  });

  it('refuses a state of another version', () => {
    const { uart } = setup();
    const state = { ...uart.save(), version: 2 };
    expect(() => uart.restore(state as never)).toThrow();
  });
});
