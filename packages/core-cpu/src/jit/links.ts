/**
 * Chaining of translations: the run loop (interp/soft-cpu.ts) remembers which translation ran
 * after which, and goes from one to the next without the TLB and decode-cache lookups while the
 * link holds. A link holds for one run-loop call and one TLB generation (an INVLPG or flush may
 * map the successor's linear address elsewhere); within those, a code write ends the call
 * (EVENT_CODE_CHANGED), so a linked translation always matches the bytes it was made from.
 */
import type { CompiledBlock } from './block-compiler.js';

/**
 * Remembers that translation `to` (entered at IP `ip`) ran right after `from` in this epoch: the
 * run loop then goes from one to the other without a lookup. Two successors are kept (a
 * conditional branch has two); a third replaces the second.
 */
export function linkTranslation(from: CompiledBlock, to: CompiledBlock, ip: number, epoch: number): void {
  if (Number.isNaN(from.ip)) return; // UNTRANSLATABLE is frozen, and never runs anyway
  if (from.linkEpoch !== epoch) {
    from.linkEpoch = epoch;
    from.link0 = to;
    from.linkIp0 = ip;
    from.link1 = null;
    from.linkIp1 = NaN;
  } else if (from.linkIp0 === ip) from.link0 = to;
  else {
    from.link1 = to;
    from.linkIp1 = ip;
  }
}
