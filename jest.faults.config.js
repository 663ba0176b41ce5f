// `npm run test:faults`: the fault-injection suite (kills workers, restarts a private Redis, cuts Postgres
// through a proxy). Long-running, so it is not part of `npm test`; files run one at a time.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  maxWorkers: 1,
  testTimeout: 300_000,
  testEnvironment: 'node',
  transform,
  rootDir: __dirname,
  testMatch: ['<rootDir>/test/faults/**/*.fault-spec.ts'],
  // The two short cases run in `npm test` already (jest.config.js); CI runs both commands, so not twice.
  // FAULTS_ALL=1 runs them here too.
  testPathIgnorePatterns: process.env.FAULTS_ALL
    ? ['/node_modules/']
    : ['/node_modules/', '/test/faults/graph-api\\.fault-spec\\.ts$', '/test/faults/postgres-outage\\.fault-spec\\.ts$'],
};
