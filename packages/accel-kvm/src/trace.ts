/**
 * The teaching view: an optional sink that narrates the ioctl flow as it happens
 * ("KVM_CREATE_VM -> fd 19", "exit IO out port 0x3f8 ..."). Null means silent; callers
 * check for null before building a line, so a silent run formats nothing.
 */
export type TraceSink = ((line: string) => void) | null;

export const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
