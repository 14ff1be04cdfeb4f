/**
 * Test support: an interactive tsemu session, as a person at the serial console would have
 * it: start the guest, wait for text to appear, type a line, wait for its answer. Output is
 * kept whole, so a test can also check everything the guest printed (the kernel log).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { TSEMU_BIN } from './tsemu-process.js';

export interface SessionExit {
  status: number | null;
  signal: NodeJS.Signals | null;
}

export class GuestSession {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  stderr = '';
  readonly exited: Promise<SessionExit>;
  /** Where in `output` the next waitFor starts looking. */
  private cursor = 0;
  private waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [TSEMU_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout.on('data', (d: Buffer) => {
      this.output += d.toString('latin1');
      this.wake();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString('latin1');
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (status, signal) => {
        this.wake();
        resolve({ status, signal });
      });
    });
  }

  /**
   * Waits until `pattern` appears in the output after the cursor; returns the text from the
   * cursor to the end of the match and moves the cursor past it.
   */
  async waitFor(pattern: RegExp | string, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.output.slice(this.cursor);
      const m = typeof pattern === 'string' ? indexMatch(rest, pattern) : pattern.exec(rest);
      if (m) {
        const end = m.index + m[0].length;
        this.cursor += end;
        return rest.slice(0, end);
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`guest exited before printing ${String(pattern)}\n--- output ---\n${this.output}\n--- stderr ---\n${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\n--- output tail ---\n${this.output.slice(-3000)}\n--- stderr ---\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Types `line` and Enter on the serial console. */
  type(line: string): void {
    this.child.stdin.write(`${line}\r`);
  }

  /** Types a command and returns what the guest printed up to the next prompt. */
  async run(command: string, prompt: string, timeoutMs: number): Promise<string> {
    this.type(command);
    const text = await this.waitFor(prompt, timeoutMs);
    // Drop the echoed command line and the prompt itself.
    const lines = text.replace(/\r/g, '').split('\n');
    return lines.slice(1, -1).join('\n');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

function indexMatch(text: string, needle: string): { index: number; 0: string } | null {
  const index = text.indexOf(needle);
  return index < 0 ? null : { index, 0: needle };
}
