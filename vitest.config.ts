import { defineConfig } from 'vitest/config';

// Tests run against TypeScript sources: the `tsemu-source` export condition maps
// each @tsemu/* package to its src/ instead of its built dist/.
export default defineConfig({
  resolve: { conditions: ['tsemu-source'] },
  ssr: { resolve: { conditions: ['tsemu-source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    setupFiles: ['test/support/jit-setup.ts'],
  },
});
