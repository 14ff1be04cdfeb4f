/**
 * Where COM1's output goes: stdout, a file, or nowhere. Writes are synchronous
 * (fs.writeSync) so the guest's output is complete and in order even when tsemu exits
 * the moment the guest asks it to.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { SerialConfig } from '../config/vm-config.js';
import { ConfigError } from '../config/errors.js';

export interface SerialBackend {
  write(bytes: Uint8Array): void;
  close(): void;
}

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

export function openSerialBackend(config: SerialConfig): SerialBackend | null {
  switch (config.kind) {
    case 'none':
      return null;
    case 'stdio':
      return { write: (bytes) => writeAll(1, bytes), close() {} };
    case 'file': {
      let fd: number;
      try {
        fd = openSync(config.path, 'w');
      } catch (err) {
        throw new ConfigError(`cannot open serial output file '${config.path}': ${(err as Error).message}`);
      }
      return { write: (bytes) => writeAll(fd, bytes), close: () => closeSync(fd) };
    }
  }
}
