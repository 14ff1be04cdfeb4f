/**
 * The initial value of a numeric field that will outgrow 31 bits: an instruction count, a time
 * in nanoseconds, a 32-bit address.
 *
 * V8 keeps a field that has only held small integers in that representation, and the first
 * larger value changes the hidden class of every object of that shape. Every optimised
 * function that had read such an object is then thrown away, at once. On the Linux boot under
 * the JIT that happened when the CPU's retired count passed 2^31 (~50 functions, the
 * interpreter's handlers among them) and when the MMU's last physical address first held a
 * kernel address (~150 more), and V8 then re-optimised them all while the guest ran on.
 *
 * A field that starts as a double stays one. -0 is a double, and it behaves as 0 in arithmetic,
 * in comparisons and when printed.
 */
export const WIDE_ZERO = -0;
