import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // Fixture lakes are generated in beforeAll hooks; a loaded 2-core machine needs the headroom.
    hookTimeout: 240_000,
    pool: 'forks',
    // Every AWS request a test sends is validated against the vendored service models (test/aws-models/).
    setupFiles: ['test/helpers/aws-model-setup.ts'],
    // The functions' EMF metric documents would fill the test output; test/ops-run.test.ts turns
    // them back on for the runtime it checks.
    env: { POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
