// Unit specs sit next to the code (src, *.spec.ts); integration specs (test, *.e2e-spec.ts) run the real app against local Postgres and Redis.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 2,
  testTimeout: 60_000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      rootDir: __dirname,
      // Plus the house rules (docs/ARCHITECTURE.md), checked over src/'s imports and SQL.
      testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/architecture.spec.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      rootDir: __dirname,
      // Plus the short fault cases (~35 s): Graph API hanging/throttling and Postgres cut through a proxy.
      testMatch: [
        '<rootDir>/test/**/*.e2e-spec.ts',
        '<rootDir>/test/faults/graph-api.fault-spec.ts',
        '<rootDir>/test/faults/postgres-outage.fault-spec.ts',
      ],
    },
  ],
};
