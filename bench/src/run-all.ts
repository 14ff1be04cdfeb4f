/**
 * `npm run bench`: every benchmark, printed as figures (never asserted). Figures that
 * compare with a peer are measured in the same run on the same machine, as ratios.
 */
import { runIoBusBench } from './io-bus-dispatch.js';
import { runKvmPioBench } from './kvm-pio-exit.js';
import { runInterpreterVsV86Bench } from './v86-interp.js';
import { runLinuxBootBench, type BootPromptSeconds } from './linux-boot.js';
import { runLinuxBootPeersBench } from './linux-boot-peers.js';
import { runLinuxBootPhasesBench } from './linux-boot-phases.js';
import { runStartupBench } from './startup.js';
import { runWorkloadPeersBench } from './workload-peers.js';

function section(title: string, lines: readonly string[]): void {
  process.stdout.write(`\n== ${title}\n${lines.join('\n')}\n`);
}

section('tsemu start-up (`tsemu --version`)', runStartupBench());
section('IoBus dispatch (benchmark.js, ns per operation)', await runIoBusBench());
section('KVM port-I/O exit round trip: tsemu vs a C program, same guest', await runKvmPioBench());
section('Software CPU (interpreter, then JIT) vs v86 (same guests)', await runInterpreterVsV86Bench());
section('CPU-bound workload as whole guests: tsemu JIT vs QEMU TCG and v86 JIT (MIPS)', await runWorkloadPeersBench());
const bootPrompts: BootPromptSeconds = {};
section('Linux 686 under --accel=tcg: start to the first shell prompt', await runLinuxBootBench(bootPrompts));
section('Linux 686, the peers: QEMU TCG and v86 (JIT, interpreter), same kernel and initramfs', await runLinuxBootPeersBench(bootPrompts));
section('Linux 686: where the time goes, tsemu\'s JIT against v86\'s (console-log markers)', await runLinuxBootPhasesBench());
