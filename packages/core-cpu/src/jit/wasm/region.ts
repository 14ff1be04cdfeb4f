/**
 * A translation as one WebAssembly function: block-compiler.ts's region layout (the members'
 * blocks, case labels at their starts and at inner branch targets, branches between them
 * inside the function) over context.ts's state and forms.ts's instructions.
 *
 * The cases are nested blocks inside a loop, dispatched once by a `br_table` on the case
 * index; the code of case i follows the end of its block, so it falls through into case i+1
 * (as the JavaScript switch does). A branch to a later case leaves straight to the end of the
 * block that case follows; a branch back to the start of its own case goes to that case's own
 * `loop` (opened when the case has such a branch); any other branch back sets the index and
 * continues the dispatch loop. Every exit sets the count and RIP and leaves the outermost block
 * for the one epilogue, which stores the registers, the flag locals and RIP in the status area
 * for the host wrapper (runtime.ts) and returns the count.
 */
import { CpuMode, type Instruction } from '../../decoder/instruction.js';
import { disassemble } from '../../disasm/intel.js';
import { hex, type RegionMember } from '../block-compiler.js';
import { regionLayout } from '../region-layout.js';
import { conditionalBranch, countBranch, instructionEnds, relativeTarget } from '../direct-emitters.js';
import { RUNTIME_FLAGS } from '../flag-state.js';
import { Code, L, UNLIKELY } from './code.js';
import { STATUS, Unsupported, WasmContext } from './context.js';
import { packedMasks, type AccessMasks } from '../../mmu/mmu.js';
import { WRITABLE_SIMPLE_MASK, WRITABLE_SIMPLE_VALUE } from '../../interp/protected/segment-checks.js';
import { Attr, SegmentCache } from '../../state/segment-cache.js';
import { GprSlot } from '../../state/gpr-file.js';
import { Op, uleb } from './encoder.js';
import { condition, directForm, nearTransfer } from './forms.js';
import { handlerCallable } from './handler-calls.js';

const CS = 1;
const SS = 2;

export interface WasmRegion {
  /** The function's body (runtime.ts makes the module around it). */
  body: Uint8Array;
  /** Bit n: register n is written as a dword (its high half is cleared at exits). */
  dwordRegs: number;
  /** Per instruction: its IP (a fault's address), and the instruction (for handler calls). */
  ips: Int32Array;
  insns: Instruction[];
  /** Instructions in all, and in the entry block (the budget a call needs). */
  total: number;
  entryCount: number;
  /** Branch hints (code.ts's pairs), their offsets in `body`. */
  hints: number[];
  /** Whether the function branches inside itself. */
  loops: boolean;
  /**
   * The members (after the entry block) the function may also be entered at: each one's index
   * in the members, its case, and its instruction count (what such a call may run before the
   * function's first budget check). A member whose first instruction this backend does not
   * write is not among them (entered there, the function would complete nothing).
   */
  entries: { member: number; case: number; count: number }[];
  /** The guest instructions, one line each, when asked for (--trace=jit); '' otherwise. */
  listing: string;
}

export interface WasmLayout {
  /**
   * Byte offsets in the memory of the TLB's entries, the status area, the registers (GprFile)
   * and the segment caches (SegmentCache: bases, limits, attributes), and its size in pages.
   */
  tlbOffset: number;
  statusOffset: number;
  gprOffset: number;
  segOffset: number;
  pages: number;
}


function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The function for `members` (the first is the entry), or throws Unsupported when one of their
 * instructions is not one this backend writes. `withListing`: disassemble the instructions
 * (--trace=jit); not done otherwise, as it would cost every compile.
 */
export function generateWasmRegion(
  members: RegionMember[], stack32: boolean, wideSegs: number, segBases: ArrayLike<number>, masks: AccessMasks, layout: WasmLayout, withListing = false,
  slowCalls = false,
): WasmRegion {
  if (members[0].block.mode !== CpuMode.Bits32) throw new Unsupported('not 32-bit code');
  const { ipMask, labels, caseIps, isMember, maxLength, total, loops } = regionLayout(members);
  // Case order: each member's start, then its inner labels in order.
  const caseOf = new Map<number, number>(caseIps.map((ip, i) => [ip, i]));

  const ctx = new WasmContext(wideSegs, segBases, stack32, layout.tlbOffset, layout.statusOffset, layout.gprOffset, masks, slowCalls);
  const c = ctx.code;
  const cases = caseIps.length;
  const status = (slot: number): number => layout.statusOffset + 4 * slot;
  // The status area keeps the flag record as LazyFlags takes it: kind, operation, width, fa, fb, fr, fc.
  const flagOperands = [L.fa, L.fb, L.fr, L.fc];
  // Blocks: fault exit, exit, then the dispatch loop.
  c.op(Op.block, 0x40, Op.block, 0x40, Op.loop, 0x40);
  for (let i = 0; i < cases; i++) c.op(Op.block, 0x40);
  c.get(L.pc).op(Op.brTable);
  uleb(cases, c);
  for (let i = 0; i < cases; i++) uleb(i, c);
  uleb(cases + 1, c);
  let caseIndex = -1;
  // The code depth inside the current case's own loop (a case that branches back to its own
  // start), or -1 when it has none.
  let selfLoopDepth = -1;
  const closeSelfLoop = (): void => {
    if (selfLoopDepth < 0) return;
    c.op(Op.end);
    c.depth--;
    selfLoopDepth = -1;
  };
  const openCase = (selfLoop = false): void => {
    closeSelfLoop();
    c.op(Op.end);
    ctx.forgetMemos();
    caseIndex++;
    ctx.outerCases = cases - 1 - caseIndex;
    if (selfLoop) {
      c.op(Op.loop, 0x40);
      c.depth++;
      selfLoopDepth = c.depth;
    }
  };

  // Pushes whether a host call left work pending. A load of the status area at every branch
  // between members: a local set by every slow path, to look only after one, was a value live
  // across the whole function and merged at every access's join.
  const workPending = (): void => {
    c.i32(0).mem(Op.i32Load, 2, layout.statusOffset + 4 * STATUS.events);
  };
  // A branch to a member: on to it, unless work is pending or its block could pass the
  // caller's budget.
  const internal = (done: number, target: number): void => {
    c.get(L.k0).i32(done).op(Op.i32Add).set(L.k0);
    workPending();
    c.get(L.k0).i32(maxLength).op(Op.i32Add).get(L.budget).op(Op.i32GtS, Op.i32Or);
    c.if(() => ctx.exit(() => c.get(L.k0), () => c.i32(target)), undefined, UNLIKELY);
    const targetCase = caseOf.get(target | 0)!;
    // A later case: straight to the end of the block its code follows (the current case's
    // code sits inside it). The current case's start, when it has a loop of its own: to that
    // loop. Another earlier one: round the dispatch loop's br_table.
    if (targetCase > caseIndex) c.br(c.depth + targetCase - caseIndex - 1);
    else if (targetCase === caseIndex && selfLoopDepth >= 0) c.br(c.depth - selfLoopDepth);
    else c.setConst(L.pc, targetCase).br(ctx.loopDepth);
  };
  // After RET or an indirect transfer (RIP in x): on inside when it names a member.
  const dynamicInternal = (done: number): void => {
    if (!loops) return;
    for (const ip of caseIps) c.get(L.x).i32(ip).op(Op.i32Eq).if(() => internal(done, ip));
  };

  /** Writes one instruction; true when it ends the block (an unconditional transfer). */
  const instruction = (insn: Instruction, addr: number, next: number, d: number): boolean => {
    const goTo = (target: number): void => {
      if (isMember(target)) internal(d + 1, target);
      else ctx.exitAfter(target);
    };
    const branch = conditionalBranch(insn, next);
    if (branch !== null) {
      condition(ctx, branch.cc);
      c.if(() => goTo(branch.target));
      return false;
    }
    const counted = countBranch(insn, next);
    if (counted !== null) {
      if (insn.addrSize !== 4) throw new Unsupported('16-bit count register');
      if (counted.kind === 'jcxz') c.get(L.e0 + 1).op(Op.i32Eqz);
      else {
        // ZF as it stands before the instruction (the decrement changes no flag).
        if (counted.kind !== 'loop') {
          condition(ctx, counted.kind === 'loope' ? 4 : 5);
          c.set(L.s);
        }
        c.get(L.e0 + 1).i32(1).op(Op.i32Sub).tee(L.e0 + 1).i32(0).op(Op.i32Ne);
        if (counted.kind !== 'loop') c.get(L.s).op(Op.i32And);
      }
      c.if(() => goTo(counted.target));
      return false;
    }
    const key = insn.entry.key;
    const jump = key === 'jmp_Jb' || key === 'jmp_Jz' ? relativeTarget(insn, next) : null;
    if (jump !== null) {
      goTo(jump);
      return true;
    }
    const toMember = (target: number): boolean => {
      if (!isMember(target)) return false;
      internal(d + 1, target);
      return true;
    };
    if (nearTransfer(ctx, insn, next, toMember, () => dynamicInternal(d + 1))) return true;
    ctx.checkWorkAfter = false;
    directForm(ctx, insn);
    // A slow path may have left work pending: dropped code (a write to a code page, which may
    // be the next instruction's) and the end of the burst's time after PAUSE are seen right
    // after the instruction; a device's
    // interrupt or the end of the time slice from a read's slow path at the next branch
    // inside the translation or at its exit (the dispatcher and run loop look there), within
    // one block.
    if (ctx.checkWorkAfter) {
      workPending();
      c.if(() => ctx.exitAfter(next, d), undefined, UNLIKELY);
    }
    return false;
  };

  /**
   * Whether the case starting at instruction `from` of a member (IP `start`) has a direct
   * branch back to `start` before the member's next label: such a case gets a loop of its own.
   */
  const branchesToItself = (insns: Instruction[], nexts: number[], from: number, start: number, labelsOfMember: Map<number, number>): boolean => {
    for (let j = from; j < insns.length && (j === from || !labelsOfMember.has(j)); j++) {
      // JMP, Jcc, LOOPcc and JCXZ: the branches instruction() sends to internal() by target.
      const target = relativeTarget(insns[j], nexts[j]);
      if (target !== null && (target | 0) === start) return true;
    }
    return false;
  };

  const ips = new Int32Array(total);
  const insns: Instruction[] = [];
  const entries: WasmRegion['entries'] = [];
  const listing: string[] = [];
  let g = 0;
  for (const [m, member] of members.entries()) {
    const { block } = member;
    const start = member.ip | 0;
    const n = block.insns.length;
    const nexts = instructionEnds(block.insns, start, ipMask);
    openCase(branchesToItself(block.insns, nexts, 0, start, labels[m]));
    const memberCase = caseIndex;
    // Entered with the record the prologue loaded, or from another case: known at run time only.
    ctx.flags = RUNTIME_FLAGS;
    let ended = false;
    let addr = start;
    let seg = 0;
    // The index of the next case label in the block (or its end), found at each label.
    let caseEnd = 0;
    for (let j = 0; j < n; j++, g++) {
      const label = labels[m].get(j);
      if (label !== undefined) {
        c.get(L.k0).i32(j - seg).op(Op.i32Add).set(L.k0);
        openCase(branchesToItself(block.insns, nexts, j, label | 0, labels[m]));
        ctx.flags = RUNTIME_FLAGS;
        seg = j;
        if (withListing) listing.push(`label ${hex(label)}:`);
      }
      const d = j - seg;
      const insn = block.insns[j];
      const next = nexts[j];
      // Memos made here serve the instructions up to the next case label.
      if (caseEnd <= j) for (caseEnd = j + 1; caseEnd < n && !labels[m].has(caseEnd);) caseEnd++;
      ctx.startInstruction(g, d, addr, block.insns, j + 1, caseEnd);
      ips[g] = addr;
      insns[g] = insn;
      const saved = ctx.save();
      try {
        ended = instruction(insn, addr, next, d);
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        ctx.restore(saved);
        if (handlerCallable(insn)) {
          // Run through the interpreter's handler (handler-calls.ts), and on after it.
          ctx.handlerCall(next);
          ended = false;
        } else {
          if (m === 0 && j === 0) throw e;
          // Not written here: the translation ends before it, and the run loop goes on from
          // its address (the interpreter, or a translation of its own).
          ctx.exit(() => c.get(L.k0).i32(d).op(Op.i32Add), () => c.i32(addr));
          for (let rest = j + 1; rest < n; rest++) {
            const ip = labels[m].get(rest);
            if (ip === undefined) continue;
            // A branch here comes with its count in k0: leave at once.
            openCase();
            ctx.exit(() => c.get(L.k0), () => c.i32(ip));
          }
          g += n - j;
          ended = true;
          break;
        }
      }
      if (j === 0 && m > 0) entries.push({ member: m - 1, case: memberCase, count: n });
      if (withListing) listing.push(`${hex(addr)}  ${disassemble(insn, addr >>> 0)}`);
      addr = next;
      if (ended) {
        g += n - j;
        break;
      }
    }
    if (!ended) {
      const after = nexts[n - 1];
      if (isMember(after)) internal(n - seg, after);
      else ctx.exit(() => c.get(L.k0).i32(n - seg).op(Op.i32Add), () => c.i32(after));
    }
  }
  // Every case ends in a branch; falling off the last one would be a bug of this file.
  closeSelfLoop();
  c.op(Op.unreachable, Op.end, Op.end);
  // The epilogue: the registers to the register file (a dword write clears the high half, as
  // the JavaScript translation's spill does), the flag locals and RIP to the status area; the
  // count returned.
  // Only the registers the body wrote (the others' locals still hold what the register file
  // does), and the prologue loads only those it used: a local loaded and stored for nothing was
  // live across the whole function.
  const used = c.registersUsed;
  const written = c.registersWritten;
  const storeState = (): void => {
    c.storeRegisters(layout.gprOffset, written);
    c.i32(0).flagKind().mem(Op.i32Store, 2, status(STATUS.flags));
    c.i32(0).flagOp().mem(Op.i32Store, 2, status(STATUS.flags + 1));
    c.i32(0).flagBits().mem(Op.i32Store, 2, status(STATUS.flags + 2));
    flagOperands.forEach((l, i) => c.i32(0).get(l).mem(Op.i32Store, 2, status(STATUS.flags + 3 + i)));
  };
  storeState();
  for (let r = 0; r < 8; r++) if (ctx.dwordRegs & (1 << r)) c.i32(0).i32(0).mem(Op.i32Store, 2, layout.gprOffset + 4 * (r | GprSlot.High));
  c.i32(0).get(L.x).mem(Op.i32Store, 2, status(STATUS.rip));
  c.get(L.n).op(Op.return, Op.end);
  // The fault exit: the state before the faulting instruction; -1 tells the wrapper.
  storeState();
  c.i32(-1);

  // The prologue, written last because it checks what the body turned out to use: the CPU
  // state the translation was made for (else it returns 0, and the host translates the block
  // again for the state it is in), then the registers from the register file and the flag
  // record from the status area (the previous translation's when the dispatcher went on from
  // it; fk = 0 from the host).
  const p = new Code();
  const leaveUnless = (test: () => void): void => {
    test();
    p.op(Op.i32Eqz).if(() => p.i32(0).op(Op.return), undefined, UNLIKELY);
  };
  const seg = (array: number, s: number): number => layout.segOffset + array + 4 * s;
  const [BASE, LIMIT, ATTR] = [SegmentCache.BASE_OFFSET, SegmentCache.LIMIT_OFFSET, SegmentCache.ATTR_OFFSET];
  for (let s = 0; s < 6; s++) {
    if ((ctx.usedSegs & (1 << s)) === 0) continue;
    const base = segBases[s] | 0;
    leaveUnless(() => p.i32(0).mem(Op.i32Load, 2, seg(ATTR, s)).i32(WRITABLE_SIMPLE_MASK).op(Op.i32And).i32(WRITABLE_SIMPLE_VALUE).op(Op.i32Eq));
    leaveUnless(() => p.i32(0).mem(Op.i32Load, 2, seg(LIMIT, s)).i32(-1).op(Op.i32Eq));
    leaveUnless(() => p.i32(0).mem(Op.i32Load, 2, seg(BASE, s)).i32(base).op(Op.i32Eq));
  }
  if (ctx.usesStack) leaveUnless(() => p.i32(0).mem(Op.i32Load, 2, seg(ATTR, SS)).i32(Attr.Db).op(Op.i32And));
  // The access masks written into the code (packedMasks: the host's for this call).
  if (ctx.usesMasks) leaveUnless(() => p.i32(0).mem(Op.i32Load, 2, status(STATUS.masks)).i32(packedMasks(masks)).op(Op.i32Eq));
  // RIP constants are linear addresses only with the CS base it had (the jump cache keys on RIP).
  leaveUnless(() => p.i32(0).mem(Op.i32Load, 2, seg(BASE, CS)).i32(segBases[CS] | 0).op(Op.i32Eq));
  p.loadRegisters(layout.gprOffset, used);
  p.i32(0).mem(Op.i32Load, 2, status(STATUS.flags));
  p.i32(0).mem(Op.i32Load, 2, status(STATUS.flags + 1)).i32(8).op(Op.i32Shl, Op.i32Or);
  p.i32(0).mem(Op.i32Load, 2, status(STATUS.flags + 2)).i32(16).op(Op.i32Shl, Op.i32Or).set(L.fk);
  flagOperands.forEach((l, i) => p.i32(0).mem(Op.i32Load, 2, status(STATUS.flags + 3 + i)).set(l));
  p.i32(0).mem(Op.i32Load, 2, status(STATUS.entry)).set(L.pc);

  return {
    body: concatBytes(p.bytes, c.bytes),
    hints: p.hints.concat(c.hints.map((x, i) => (i % 2 === 0 ? x + p.length : x))),
    dwordRegs: ctx.dwordRegs,
    ips,
    insns,
    total,
    entryCount: members[0].block.insns.length,
    loops,
    entries,
    listing: listing.join('\n'),
  };
}
