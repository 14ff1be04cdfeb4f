/**
 * Where `--trace=cpu` lines go: stderr or `--trace-file PATH`. A trace can run to millions
 * of lines, so lines are gathered and written synchronously in large chunks (synchronous,
 * so nothing is lost when the run ends with process.exit) and flushed when the run ends.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from '../config/errors.js';

const FLUSH_CHARS = 1 << 16;

export class TraceSink {
  private readonly fd: number;
  private readonly ownsFd: boolean;
  private pending: string[] = [];
  private pendingChars = 0;

  /** `path` null: stderr. */
  constructor(path: string | null) {
    if (path === null) {
      this.fd = 2;
      this.ownsFd = false;
    } else {
      try {
        this.fd = openSync(path, 'w');
      } catch (e) {
        throw new ConfigError(`cannot write --trace-file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      this.ownsFd = true;
    }
  }

  readonly write = (line: string): void => {
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
  };

  flush(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingChars = 0;
    const bytes = Buffer.from(text, 'latin1');
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset);
      } catch (e) {
        // A pipe on stderr may be non-blocking: wait for the reader rather than lose lines.
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
      }
    }
  }

  close(): void {
    this.flush();
    if (this.ownsFd) closeSync(this.fd);
  }
}
