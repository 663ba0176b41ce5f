// `npm run test:scale`: 2 API processes and 2 standalone workers on one Postgres and Redis, then on a 3-master
// Redis Cluster, asserting exactly-once replies and every rate limit across processes (~5 minutes). Not in CI:
// its per-second limits are measured at a fake server sharing 2 cores with four app processes, and miss by one
// or by a few per cent when the machine is busy (docs/scaling.md). Also the Redis Cluster restart case, whose
// teardown can outlast its hook after the rest of the fault suite (docs/scaling.md).
const faults = require('./jest.faults.config.js');

module.exports = {
  ...faults,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['<rootDir>/test/faults/**/*.scale-spec.ts'],
};
