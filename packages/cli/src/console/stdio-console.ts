/**
 * The serial console on the terminal, as QEMU's `-serial stdio` / `-nographic`:
 * stdin goes to the guest's COM1 raw (byte for byte, no line editing, no local echo),
 * the guest's output goes to stdout unchanged. Ctrl-A is the escape key:
 *   Ctrl-A x  quit          Ctrl-A h  help
 *   Ctrl-A Ctrl-A  send one Ctrl-A to the guest
 */
const CTRL_A = 0x01;

export interface ConsoleSink {
  /** Bytes typed for the guest. */
  toGuest(bytes: Uint8Array): void;
  /** The user asked to quit (Ctrl-A x). */
  quit(): void;
}

/** The escape-sequence state machine alone (no I/O), so it can be tested. */
export class EscapeDecoder {
  private escaped = false;

  constructor(
    private readonly sink: ConsoleSink,
    private readonly help: (text: string) => void,
  ) {}

  feed(data: Uint8Array): void {
    let start = 0;
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (this.escaped) {
        this.escaped = false;
        start = i + 1;
        if (b === 0x78 /* x */ || b === 0x58) {
          this.sink.quit();
          return;
        }
        if (b === CTRL_A) this.sink.toGuest(Uint8Array.of(CTRL_A));
        else if (b === 0x68 /* h */ || b === 0x3f /* ? */) this.help('\r\nC-a h    print this help\r\nC-a x    exit tsemu\r\nC-a C-a  send C-a\r\n');
        continue;
      }
      if (b === CTRL_A) {
        if (i > start) this.sink.toGuest(data.subarray(start, i));
        this.escaped = true;
        start = i + 1;
      }
    }
    if (start < data.length && !this.escaped) this.sink.toGuest(data.subarray(start));
  }
}

/** Attaches the terminal: raw mode when stdin is a TTY, restored on detach. */
export class StdioConsole {
  private readonly decoder: EscapeDecoder;
  private readonly onData = (chunk: Buffer) => this.decoder.feed(chunk);
  private rawWasSet = false;
  private attached = false;

  constructor(sink: ConsoleSink) {
    this.decoder = new EscapeDecoder(sink, (text) => process.stderr.write(text));
  }

  attach(): void {
    const stdin = process.stdin;
    if (stdin.isTTY) {
      stdin.setRawMode(true);
      this.rawWasSet = true;
    }
    stdin.on('data', this.onData);
    stdin.resume();
    this.attached = true;
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    process.stdin.off('data', this.onData);
    if (this.rawWasSet) process.stdin.setRawMode(false);
    process.stdin.pause();
    // unref so a stdin with nothing to read never keeps the process alive.
    (process.stdin as unknown as { unref?: () => void }).unref?.();
  }
}
