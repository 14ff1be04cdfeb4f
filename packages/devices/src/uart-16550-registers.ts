/**
 * Programming interface of the 16550A UART (National Semiconductor PC16550D datasheet,
 * register summary and register descriptions): the eight register offsets, the bit
 * names of IER, IIR, FCR, LCR, MCR, LSR and MSR, and the FIFO geometry.
 *
 * Kept apart from uart-16550.ts so the device model reads as behaviour, and so tests and
 * other code can name registers and bits without the device; uart-16550.ts re-exports
 * everything here.
 */

/** Size of the register window (offsets 0..7). */
export const UART_REGISTER_COUNT = 8;

/** Register offsets (PC16550D register summary). RBR/THR and IER are DLL/DLM while LCR.DLAB is set. */
export const UartReg = { RBR_THR: 0, IER: 1, IIR_FCR: 2, LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7 } as const;

/** Interrupt Enable Register bits. */
export const UartIer = { ERBFI: 0x01, ETBEI: 0x02, ELSI: 0x04, EDSSI: 0x08 } as const;

/**
 * Interrupt Identification Register: bit 0 = no interrupt pending, bits 3:1 the source,
 * bits 7:6 both set while the FIFOs are enabled (how Linux tells a 16550A).
 */
export const UartIir = {
  NO_INT: 0x01, MODEM_STATUS: 0x00, THRE: 0x02, RX_DATA: 0x04, RX_LINE_STATUS: 0x06, CHAR_TIMEOUT: 0x0c,
  FIFOS_ENABLED: 0xc0,
} as const;

/** FIFO Control Register bits. */
export const UartFcr = {
  FIFO_ENABLE: 0x01, RCVR_FIFO_RESET: 0x02, XMIT_FIFO_RESET: 0x04, DMA_MODE: 0x08, RCVR_TRIGGER: 0xc0,
} as const;
/** RX trigger levels selected by FCR bits 7:6. */
export const UART_RCVR_TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** Line Control Register bit 7, the divisor latch access bit. */
export const UART_LCR_DLAB = 0x80;

/** Modem Control Register bits. */
export const UartMcr = { DTR: 0x01, RTS: 0x02, OUT1: 0x04, OUT2: 0x08, LOOP: 0x10 } as const;

/** Line Status Register bits. */
export const UartLsr = { DR: 0x01, OE: 0x02, PE: 0x04, FE: 0x08, BI: 0x10, THRE: 0x20, TEMT: 0x40 } as const;

/** Modem Status Register bits: deltas in 3:0, line states in 7:4. */
export const UartMsr = {
  DCTS: 0x01, DDSR: 0x02, TERI: 0x04, DDCD: 0x08, CTS: 0x10, DSR: 0x20, RI: 0x40, DCD: 0x80,
} as const;

/** Depth of the receive and transmit FIFOs. */
export const UART_FIFO_SIZE = 16;
