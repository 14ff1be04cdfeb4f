/**
 * The WebAssembly JS API as tsemu uses it (Node has it; @types/node 20 does not declare it):
 * memories over guest RAM, and modules the JIT compiles and instantiates synchronously.
 * Imported for its global declarations by this package's index. Written as interfaces and
 * `var`s, which TypeScript merges, because a program may see this file twice (from source
 * and from the package's declaration output).
 */
export {};

declare global {
  namespace WebAssembly {
    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
      shared?: boolean;
    }
    interface Memory {
      readonly buffer: ArrayBuffer | SharedArrayBuffer;
    }
    var Memory: new (descriptor: MemoryDescriptor) => Memory;
    interface Module {
      readonly __module?: never;
    }
    var Module: new (bytes: Uint8Array) => Module;
    interface Instance {
      readonly exports: Record<string, unknown>;
    }
    var Instance: new (module: Module, imports?: Imports) => Instance;
    interface TableDescriptor {
      initial: number;
      element: 'anyfunc';
    }
    interface Table {
      readonly length: number;
      grow(delta: number): number;
      set(index: number, value: unknown): void;
    }
    var Table: new (descriptor: TableDescriptor) => Table;
    interface Imports {
      [module: string]: Record<string, Memory | Table | ((...args: number[]) => number | void)>;
    }
    interface RuntimeError extends Error {
      readonly __runtimeError?: never;
    }
    var RuntimeError: new (message?: string) => RuntimeError;
  }
}
