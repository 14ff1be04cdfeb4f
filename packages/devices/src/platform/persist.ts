/**
 * Persistable: every stateful object (CPU, device, RAM) saves to plain JSON-compatible
 * state with a version, validated by a zod schema kept beside the object, so a snapshot
 * taken under one accelerator restores under the other.
 */
export interface Persistable<State extends { version: number }> {
  /** Stable key of this object inside a snapshot ("uart@0x3f8", "pic-master"). */
  readonly persistKey: string;
  save(): State;
  /** Loads a validated state; throws on a version it cannot read. */
  restore(state: State): void;
}
