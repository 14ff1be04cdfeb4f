/**
 * Decoded instructions live as long as their block is cached, so they should not be allocated
 * young: every Instruction comes from newInstruction's one object literal, whose allocation site
 * V8 moves to the old generation once it sees nearly all of its objects survive (objects of a
 * class are always allocated young and copied by the scavenger, twice). Checked with V8's own
 * %InYoungGeneration after the decode cache has built a few hundred thousand instructions.
 */
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { CpuMode, newInstruction } from '../../src/decoder/instruction.js';
import { DecodeCache } from '../../src/interp/decode-cache.js';

setFlagsFromString('--allow-natives-syntax');
const inYoungGeneration = new Function('o', 'return %InYoungGeneration(o);') as (o: object) => boolean;

describe('decoded instructions', () => {
  it('check what they claim: an object of a class is young when made', () => {
    class Plain { n = 0; }
    expect(inYoungGeneration(new Plain())).toBe(true);
  });

  it('are allocated in the old generation once the decode cache has kept many', () => {
    // 512 KiB of 32-bit code, ADD EAX,ECX (2 bytes) over and over: blocks one after the other,
    // each instruction decoded once, about 260,000 in all.
    const bytes = new Uint8Array(0x80000);
    for (let i = 0; i < bytes.length; i += 2) bytes.set([0x01, 0xc8], i);
    const cache = new DecodeCache();
    const kept = [];
    let decoded = 0;
    for (let key = 0; key < bytes.length - 0x10; ) {
      const block = cache.build(bytes, key, key, CpuMode.Bits32, false, key >>> 12);
      expect(block).not.toBeNull();
      kept.push(block!);
      decoded += block!.count;
      key = block!.end;
    }
    expect(decoded).toBeGreaterThan(50_000);
    const last = kept[kept.length - 1];
    const insns = last.insns;
    expect(insns.length).toBeGreaterThan(0);
    expect(insns.every((insn) => !inYoungGeneration(insn))).toBe(true);
    // A scratch record from the same literal is allocated old as well.
    expect(inYoungGeneration(newInstruction())).toBe(false);
  });
});
