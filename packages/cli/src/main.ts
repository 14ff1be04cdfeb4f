/**
 * The `tsemu` command line. QEMU-style options are rewritten first, then yargs parses
 * tsemu's own flags. With no arguments tsemu boots the built-in demo guest under the
 * best available accelerator. Every error the user can cause ends as one line on
 * stderr and a non-zero status; a stack trace only with TSEMU_DEBUG=1.
 */
import yargs from 'yargs';
import { normalizeQemuArgs, qemuInfoRequest } from './args/qemu-args.js';
import { declareRunOptions, runArgsToConfig, type RunArgs } from './args/run-options.js';
import { describeError } from './run/errors.js';
import { runVm } from './run/vm-runner.js';

const EXIT_USAGE = 2;

function fail(message: string, status: number): never {
  // yargs words some messages over several lines; the user gets one.
  process.stderr.write(`tsemu: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(status);
}

async function main(rawArgs: string[]): Promise<void> {
  const info = qemuInfoRequest(rawArgs);
  if (info !== null) {
    process.stdout.write(`${info}\n`);
    process.exit(0);
  }
  let argv: string[];
  try {
    argv = normalizeQemuArgs(rawArgs, (warning) => process.stderr.write(`tsemu: warning: ${warning}\n`));
  } catch (err) {
    fail(describeError(err), EXIT_USAGE);
  }
  // `tsemu`, `tsemu -kernel ...` and `tsemu run ...` all run `run`, yargs' default command, with
  // no command word left on the line: for a command named on the line yargs renders the whole
  // help text once it has parsed (command.js, usage.cacheHelpMessage: about 35 ms, and 24 ms
  // more setting up string-width to measure it), which would come before the machine's first
  // instruction. `tsemu run --help` prints the same help as `tsemu --help`.
  if (argv[0] === 'run') argv.shift();

  // `run` has no handler of its own: the VM runs after parsing, outside yargs.
  const args = (await yargs(argv)
    .scriptName('tsemu')
    .usage('$0 [run] [options]   boot a PC guest (no options: the built-in demo guest); QEMU-style options (-kernel, -m, -device, ...) work too')
    .command<RunArgs>(['run', '$0'], 'boot a PC machine', (y) => declareRunOptions(y) as never)
    .strict()
    .help()
    .version('0.1.0')
    .fail((message, err) => fail(err ? describeError(err) : message, EXIT_USAGE))
    .parseAsync()) as unknown as RunArgs;
  let status: number;
  try {
    status = await runVm(runArgsToConfig(args));
  } catch (err) {
    fail(describeError(err), 1);
  }
  process.exit(status & 0xff);
}

await main(process.argv.slice(2));
