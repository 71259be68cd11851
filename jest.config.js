/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', {}] },
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Integration and end-to-end tests start servers and generate RSA keys: give them room.
  testTimeout: 60000,
  maxWorkers: 2,
};
