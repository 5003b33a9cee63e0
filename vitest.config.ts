import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Root only, in this order: build (generated scripts + dist/) first, then the Redis + REST
    // gateway the workerd project reaches (see the files).
    globalSetup: ['./tests/helpers/build-global-setup.ts', './tests/helpers/edge-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'node',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/workers/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
          maxWorkers: 2,
        },
      },
      {
        // Tests that run inside workerd against api/workerd.ts (not `extends`: see globalSetup).
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: './api/workerd.ts',
            miniflare: {
              compatibilityDate: '2026-04-01',
              bindings: {
                UPSTASH_REDIS_REST_URL: `${inject('edgeBackendUrl')}/redis`,
                UPSTASH_REDIS_REST_TOKEN: inject('edgeGatewayToken'),
                WORKER_MANAGER_URL: inject('edgeBackendUrl'),
                SPAWNER_TOKEN: inject('edgeToken'),
                KILN_PREFIX: 'contract',
                // replay a fuzz failure inside workerd (tests/workers/security-fuzz.workers.test.ts)
                FUZZ_SEED: process.env.FUZZ_SEED ?? '',
                FUZZ_RUNS: process.env.FUZZ_RUNS ?? '',
              },
            },
          })),
        ],
        test: {
          name: 'workerd',
          include: ['tests/workers/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
