import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // Builds kube-apiserver and etcd once (cached in .tools/, or GATEHOUSE_TOOLS_DIR) before any
    // test that needs a real API server; a no-op when they are cached.
    globalSetup: ['test/fixtures/kube/global-setup.ts'],
  },
});
