/**
 * Where COM1's output goes: stdout, a file, or nowhere. Bytes are gathered and written
 * (fs.writeSync, in order) once the event loop gets back from the CPU's running slice, when
 * OUTPUT_BUFFER_BYTES are waiting, and at close and process exit, so the guest's output is
 * complete even when tsemu exits the moment the guest asks it to. A byte at a time, the Linux
 * boot's 17 KB of console output was 17,000 write system calls.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { SerialConfig } from '../config/vm-config.js';
import { ConfigError } from '../config/errors.js';

export interface SerialBackend {
  write(bytes: Uint8Array): void;
  /** Writes out what is waiting. */
  flush(): void;
  close(): void;
}

/** Bytes gathered before they are written out without waiting for the event loop. */
const OUTPUT_BUFFER_BYTES = 64 * 1024;

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      // A non-blocking pipe that is full: wait for the reader rather than lose output.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}

/** Output to `fd`, gathered as the file comment says; `closeFd` also closes the file at close. */
class BufferedOutput implements SerialBackend {
  private readonly buffer = new Uint8Array(OUTPUT_BUFFER_BYTES);
  private length = 0;
  private scheduled = false;
  private closed = false;
  private readonly flushAtExit = (): void => this.flush();

  constructor(
    private readonly fd: number,
    private readonly closeFd: boolean,
  ) {
    process.on('exit', this.flushAtExit);
  }

  write(bytes: Uint8Array): void {
    if (this.closed) return;
    if (this.length + bytes.length > this.buffer.length) this.flush();
    if (bytes.length > this.buffer.length) {
      writeAll(this.fd, bytes);
      return;
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.length === 0) return;
    const n = this.length;
    this.length = 0;
    writeAll(this.fd, this.buffer.subarray(0, n));
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    process.off('exit', this.flushAtExit);
    if (this.closeFd) closeSync(this.fd);
  }
}

export function openSerialBackend(config: SerialConfig): SerialBackend | null {
  switch (config.kind) {
    case 'none':
      return null;
    case 'stdio':
      return new BufferedOutput(1, false);
    case 'file': {
      let fd: number;
      try {
        fd = openSync(config.path, 'w');
      } catch (err) {
        throw new ConfigError(`cannot open serial output file '${config.path}': ${(err as Error).message}`);
      }
      return new BufferedOutput(fd, true);
    }
  }
}
