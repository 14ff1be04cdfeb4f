/**
 * Inlining of the interpreter's own handlers into translated blocks, with the decoded
 * instruction's fields folded in as constants: the JIT's instruction semantics are the
 * interpreter's, never a second copy. A handler qualifies when its source (as V8 prints it)
 * is a plain `function name(cpu, insn) { ... }` whose every free name is an export of the
 * modules in INLINE_SCOPE (reached through `S.<module>.<name>`, so live bindings such as
 * offset64's `offsetHi` stay live) and which returns no value. Anything else (closures over
 * a factory's variables, module-private helpers) stays a direct call of the handler.
 *
 * Per instruction the template is instantiated by token substitution: `insn.<field>` becomes
 * the decoded value (opSize, reg, rm, disp, imm ...), `return;` becomes a break out of the
 * instruction's labelled block, and `memoryLinear(cpu, insn, N)` in 16/32-bit code becomes the
 * effective address with its constants plus the segment fast path of addressing.ts, falling
 * back to memoryLinear itself (which raises the fault) when that path does not apply.
 *
 * Safety net: test/jit checks that no module with inlinable handlers declares a private name
 * that INLINE_SCOPE also exports (it would be resolved to the wrong binding).
 */
import type { Instruction } from '../decoder/instruction.js';
import type { Handler } from '../interp/handlers/types.js';
import * as addressing from '../interp/addressing.js';
import * as lazyFlags from '../alu/lazy-flags.js';
import * as stack from '../interp/stack.js';
import * as faults from '../interp/faults.js';
import * as wideMath from '../alu/wide.js';
import * as offset64 from '../interp/offset64.js';
import * as segmentChecks from '../interp/protected/segment-checks.js';
import * as muldiv from '../interp/handlers/muldiv.js';
import * as shiftVariants from '../interp/handlers/shift-variants.js';
import * as data from '../interp/handlers/data.js';
import * as stackOps from '../interp/handlers/stack-ops.js';
import * as cpuidMsr from '../interp/handlers/cpuid-msr.js';

/** The modules inlined code may name, by the key it reaches them through (`S.<key>`). */
export const INLINE_SCOPE = {
  addressing, lazyFlags, stack, faults, wideMath, offset64, segmentChecks, muldiv, shiftVariants, data, stackOps, cpuidMsr,
} as const;

/**
 * Free name -> module key. A name two modules export is kept when both are the same binding
 * (a re-export), and refused (null) when they differ.
 */
const SCOPE_NAMES = (() => {
  const owner = new Map<string, string | null>();
  const scope = INLINE_SCOPE as unknown as Record<string, Record<string, unknown>>;
  for (const [key, ns] of Object.entries(scope)) {
    for (const name of Object.keys(ns)) {
      const first = owner.get(name);
      if (first === undefined) owner.set(name, key);
      else if (first !== null && scope[first][name] !== ns[name]) owner.set(name, null);
    }
  }
  return owner;
})();

/**
 * Scope functions that touch only registers and flags (they may raise a fault): an instruction
 * whose code calls nothing else needs no RIP or retired-count store before it and no event
 * check after it. Checked against each function's source by test/jit.
 */
export const PURE_CALLS: ReadonlySet<string> = new Set([
  ...['getReg8', 'setReg8', 'getRegV', 'setRegV', 'readG', 'writeG', 'readG8', 'readG16', 'readG32', 'readG64', 'writeG8',
    'writeG16', 'writeG32', 'writeG64', 'getReg64', 'setReg64', 'signExtend', 'SIZE_MASK'].map((n) => `addressing.${n}`),
  ...Object.keys(lazyFlags).map((n) => `lazyFlags.${n}`),
  ...Object.keys(wideMath).map((n) => `wideMath.${n}`),
  'faults.raise', 'faults.Vector',
  ...['mul32', 'imul32', 'imulTruncated16', 'imulTruncated32', 'div32', 'idiv32', 'nonzero', 'mulHighU32', 'mulHighS32']
    .map((n) => `muldiv.${n}`),
  ...Object.keys(shiftVariants).filter((n) => /^(shl|shr|sar|rol|ror|shld|shrd)(R16|R32|16|32)$|^setR32$/.test(n))
    .map((n) => `shiftVariants.${n}`),
  'data.byteOfRm', 'stackOps.zReg',
]);

/** Names every handler may use without the scope: language keywords and safe globals. */
const LANGUAGE = new Set([
  'const', 'let', 'var', 'if', 'else', 'return', 'true', 'false', 'null', 'undefined', 'new', 'typeof', 'for',
  'while', 'do', 'break', 'continue', 'throw', 'switch', 'case', 'default', 'of', 'in', 'instanceof', 'void',
  'Math', 'Number', 'NaN', 'Infinity', 'Error', 'RangeError',
]);
/** Constructs a handler body may not contain. */
const FORBIDDEN = new Set(['this', 'arguments', 'function', 'class', 'try', 'catch', 'finally', 'yield', 'await', 'eval', 'with', 'import']);

type Token = { kind: 'id' | 'num' | 'str' | 'punct' | 'space'; text: string };

/** Splits handler source into tokens; null when it holds something this does not parse (regex, template). */
function tokenize(src: string): Token[] | null {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === ' ' || c === '\n' || c === '\t' || c === '\r') {
      let j = i + 1;
      while (j < n && /\s/.test(src[j])) j++;
      out.push({ kind: 'space', text: src.slice(i, j) });
      i = j;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) return null;
      i = end + 2;
    } else if (c === '/') {
      // Division only: a regular expression literal would start after an operator or bracket.
      const prev = [...out].reverse().find((t) => t.kind !== 'space');
      if (prev === undefined || (prev.kind === 'punct' && prev.text !== ')' && prev.text !== ']')) return null;
      out.push({ kind: 'punct', text: src[i + 1] === '=' ? '/=' : '/' });
      i += src[i + 1] === '=' ? 2 : 1;
    } else if (c === '`') {
      return null;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < n && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      out.push({ kind: 'str', text: src.slice(i, j + 1) });
      i = j + 1;
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$]/.test(src[j])) j++;
      out.push({ kind: 'id', text: src.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && /[\w.]/.test(src[j])) j++;
      out.push({ kind: 'num', text: src.slice(i, j) });
      i = j;
    } else {
      // Longest operators first would matter only for '=>' and '?.', both refused below.
      const two = src.slice(i, i + 2);
      if (two === '=>' || two === '?.') return null;
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

export interface HandlerTemplate {
  cpuName: string;
  insnName: string;
  /** The body's tokens, free names already resolved to `S.<module>.<name>`. */
  tokens: Token[];
  /** Touches registers and flags only (PURE_CALLS): no RIP/count store before it, no event check after. */
  pure: boolean;
  /** Mentions RIP: the block stores RIP before it and checks it after. */
  readsRip: boolean;
}

const TEMPLATES = new WeakMap<Handler, HandlerTemplate | null>();

/** Names declared anywhere in the body (conservatively all local, wherever their scope). */
function declaredNames(tokens: Token[]): Set<string> {
  const names = new Set<string>();
  const solid = tokens.filter((t) => t.kind !== 'space');
  for (let k = 0; k + 1 < solid.length; k++) {
    const t = solid[k].text;
    if ((t === 'const' || t === 'let' || t === 'var') && solid[k + 1].kind === 'id') names.add(solid[k + 1].text);
  }
  return names;
}

function buildTemplate(h: Handler): HandlerTemplate | null {
  const src = h.toString();
  // `function name(cpu, insn) { body }`, `(cpu, insn) => { body }` or `(cpu, insn) => expression`
  const head = /^(?:function\s*[\w$]*\s*\(\s*([\w$]+)\s*(?:,\s*([\w$]+)\s*)?\)\s*\{|\(\s*([\w$]+)\s*(?:,\s*([\w$]+)\s*)?\)\s*=>\s*(\{)?)/.exec(src);
  if (head === null) return null;
  const cpuName = head[1] ?? head[3];
  const insnName = head[2] ?? head[4] ?? '$unusedInsn';
  let body: string;
  if (head[1] !== undefined || head[5] !== undefined) {
    if (!src.endsWith('}')) return null;
    body = src.slice(head[0].length, -1);
  } else {
    body = `${src.slice(head[0].length)};`; // an expression body: a statement of its own
  }
  const tokens = tokenize(body);
  if (tokens === null) return null;
  const local = declaredNames(tokens);
  // The instantiated body sees the block's S, I<n> and $-names: a handler declaring one is left alone.
  for (const name of local) if (name === 'S' || name.startsWith('$') || /^I\d+$/.test(name)) return null;
  let pure = true;
  let readsRip = false;
  /** Index of the nearest non-space token from `from` in direction `dir` (may be out of range). */
  const solidAt = (from: number, dir: number): number => {
    let q = from + dir;
    while (tokens[q]?.kind === 'space') q += dir;
    return q;
  };
  const blank = (q: number): void => {
    tokens[q] = { kind: 'space', text: '' };
  };
  /** Resolves the free name at `q` through the scope; false when it is not there. */
  const resolveFree = (q: number): boolean => {
    const name = tokens[q].text;
    const owner = SCOPE_NAMES.get(name);
    if (owner === undefined || owner === null) return false;
    if (!PURE_CALLS.has(`${owner}.${name}`)) pure = false;
    tokens[q] = { kind: 'id', text: `S.${owner}.${name}` };
    return true;
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (t.kind !== 'id') continue;
    if (FORBIDDEN.has(t.text)) return null;
    // Vitest runs sources through Vite's SSR transform, which turns an imported `name` into
    // `__vite_ssr_import_N__.name` (a call into `(0, __vite_ssr_import_N__.name)(...)`): read
    // that as the free name, so tests inline what tsemu does.
    if (/^__vite_ssr_import_\d+__$/.test(t.text)) {
      const dot = solidAt(k, 1);
      const name = solidAt(dot, 1);
      if (tokens[dot]?.text !== '.' || tokens[name]?.kind !== 'id') return null;
      for (let d = k; d < name; d++) blank(d);
      const comma = solidAt(k, -1);
      const zero = solidAt(comma, -1);
      const open = solidAt(zero, -1);
      const close = solidAt(name, 1);
      if (tokens[comma]?.text === ',' && tokens[zero]?.text === '0' && tokens[open]?.text === '(' && tokens[close]?.text === ')') {
        for (const d of [open, zero, comma, close]) blank(d);
      }
      if (!resolveFree(name)) return null;
      k = name;
      continue;
    }
    const before = solidAt(k, -1);
    if (tokens[before]?.text === '.') {
      // cpu.<anything but the registers>: memory, I/O, the run loop's fields.
      if (tokens[solidAt(before, -1)]?.text === cpuName && t.text !== 'regs' && t.text !== 'valueHi') pure = false;
      if (t.text === 'mem' || t.text === 'io') pure = false;
      if (t.text === 'rip' || t.text === 'ripHi') readsRip = true;
      continue;
    }
    const after = tokens[solidAt(k, 1)]?.text;
    if (t.text === 'return') {
      if (after !== ';') return null; // only `return;`: handlers return nothing
      continue;
    }
    if (t.text === cpuName || t.text === insnName || local.has(t.text) || LANGUAGE.has(t.text)) continue;
    if (after === ':' && (tokens[before]?.text === '{' || tokens[before]?.text === ',')) continue; // an object key
    if (!resolveFree(k)) return null;
  }
  return { cpuName, insnName, tokens, pure, readsRip };
}

/** The inlining template of handler `h`, or null when it must be called. */
export function handlerTemplate(h: Handler): HandlerTemplate | null {
  let t = TEMPLATES.get(h);
  if (t === undefined) {
    t = buildTemplate(h);
    TEMPLATES.set(h, t);
  }
  return t;
}

/** Instruction fields that are fixed once decoded (number or boolean), folded in as constants. */
const CONSTANT_FIELDS: ReadonlySet<string> = new Set([
  'length', 'mode', 'opcode', 'prefixes', 'opSize', 'addrSize',
  'reg', 'rm', 'isMem', 'base', 'index', 'scale', 'disp', 'segment', 'imm',
]);
/** DecodeDetail fields a handler may read (insn.detail.<field>), folded in the same way. */
const CONSTANT_DETAIL_FIELDS: ReadonlySet<string> = new Set(['immHi', 'imm2', 'dispHi', 'ripRelative']);

function literal(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return v < 0 ? `(${v})` : String(v);
  throw new Error(`not a constant: ${String(v)}`);
}

/**
 * The 16/32-bit effective offset of `insn`'s memory operand as an expression over the block's
 * register views (`$g32`, `$g16`), as addressing.ts effectiveOffset computes it.
 */
export function offsetExpression(insn: Instruction): string {
  if (insn.addrSize === 2) {
    const parts = [String(insn.disp)];
    if (insn.base >= 0) parts.push(`$g16[${insn.base << 1}]`);
    if (insn.index >= 0) parts.push(`$g16[${insn.index << 1}]`);
    return `((${parts.join(' + ')}) & 0xffff)`;
  }
  const parts = [String(insn.disp)];
  if (insn.base >= 0) parts.push(`$g32[${insn.base}]`);
  if (insn.index >= 0) parts.push(insn.scale === 0 ? `$g32[${insn.index}]` : `($g32[${insn.index}] << ${insn.scale})`);
  return `((${parts.join(' + ')}) >>> 0)`;
}

/**
 * memoryLinear(cpu, insn, size) for 16/32-bit code: the writable expand-up data segment fast
 * path of addressing.ts with the offset's constants, else the function itself (other segment
 * kinds, and the limit fault, are its business).
 */
function linearExpression(insn: Instruction, size: number, cpu: string, insnName: string): string {
  const s = insn.segment;
  const mask = segmentChecks.WRITABLE_SIMPLE_MASK;
  const value = segmentChecks.WRITABLE_SIMPLE_VALUE;
  return `((($sa[${s}] & ${mask}) === ${value} && ($ea = ${offsetExpression(insn)}) + ${size - 1} <= ($sl[${s}] >>> 0)) ? ($sb[${s}] + $ea) >>> 0 : S.addressing.memoryLinear(${cpu}, ${insnName}, ${size}))`;
}

/** The statements of the handler template `t` for `insn`, as one labelled block. */
export function instantiate(t: HandlerTemplate, insn: Instruction, index: number): string {
  const label = `$L${index}`;
  const toks = t.tokens;
  const out: string[] = [];
  const record = insn as unknown as Record<string, unknown>;
  const next = (k: number): number => {
    let m = k + 1;
    while (m < toks.length && toks[m].kind === 'space') m++;
    return m;
  };
  for (let k = 0; k < toks.length; k++) {
    const tok = toks[k];
    if (tok.kind === 'id' && tok.text === t.insnName) {
      // insn.<constant field> -> its value
      const dot = next(k);
      const field = next(dot);
      if (toks[dot]?.text === '.' && toks[field]?.kind === 'id' && CONSTANT_FIELDS.has(toks[field].text)) {
        out.push(literal(record[toks[field].text]));
        k = field;
        continue;
      }
      // insn.detail.<constant field> -> its value
      const dot2 = next(field);
      const inner = next(dot2);
      if (toks[dot]?.text === '.' && toks[field]?.text === 'detail' && toks[dot2]?.text === '.' && toks[inner]?.kind === 'id' && CONSTANT_DETAIL_FIELDS.has(toks[inner].text)) {
        out.push(literal((insn.detail as unknown as Record<string, unknown>)[toks[inner].text]));
        k = inner;
        continue;
      }
    }
    if (tok.kind === 'id' && tok.text === 'S.addressing.memoryLinear' && insn.mode !== 64) {
      // memoryLinear ( cpu , insn , N )
      const seq: number[] = [];
      let m = k;
      for (let c = 0; c < 7; c++) {
        m = next(m);
        seq.push(m);
      }
      const texts = seq.map((p) => toks[p]?.text);
      if (texts[0] === '(' && texts[1] === t.cpuName && texts[2] === ',' && texts[3] === t.insnName && texts[4] === ','
        && toks[seq[5]]?.kind === 'num' && texts[6] === ')') {
        out.push(linearExpression(insn, Number(texts[5]), t.cpuName, t.insnName));
        k = seq[6];
        continue;
      }
    }
    if (tok.kind === 'id' && tok.text === 'return') {
      out.push(`break ${label}`);
      continue;
    }
    out.push(tok.text);
  }
  const bind = `const ${t.insnName} = I${index};${t.cpuName === 'cpu' ? '' : ` const ${t.cpuName} = cpu;`}`;
  return `{ ${bind} ${label}: {${out.join('')}} }`;
}
