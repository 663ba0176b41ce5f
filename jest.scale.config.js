// `npm run test:scale`: the many-process case (2 API processes, 2 standalone workers) on a 3-master Redis Cluster,
// and the Redis Cluster restart case, whose teardown can outlast its hook after the rest of the fault suite
// (docs/scaling.md). Not in CI: the one-Redis many-process case is (test:faults), and CI's 15 minutes are spent.
const faults = require('./jest.faults.config.js');

module.exports = {
  ...faults,
  testPathIgnorePatterns: ['/node_modules/'],
  testMatch: ['<rootDir>/test/faults/**/*.scale-spec.ts'],
};
