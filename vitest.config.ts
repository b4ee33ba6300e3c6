import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const receiver = (file: string) => fileURLToPath(new URL(`./packages/receiver/src/${file}`, import.meta.url));

export default defineConfig({
  // Tests import the receiver package by name, from its sources (no build needed to run them).
  resolve: {
    alias: [
      { find: /^@reghook\/receiver\/signing$/, replacement: receiver('signing.ts') },
      { find: /^@reghook\/receiver$/, replacement: receiver('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
