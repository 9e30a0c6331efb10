// Two projects: fast unit specs beside the code, and e2e specs that boot the app on a real database.
const moduleNameMapper = {
  '^@cc/(.*)$': '<rootDir>/libs/$1/src',
};
// Transpile only (fast): tsconfig.json sets isolatedModules, which ts-jest reads; `npm run typecheck` checks types.
const transform = { '^.+\\.ts$': ['ts-jest', {}] };

module.exports = {
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/test/structure.spec.ts', '<rootDir>/test/rules.spec.ts'],
      moduleFileExtensions: ['js', 'json', 'ts'],
      transform,
      moduleNameMapper,
      testEnvironment: 'node',
    },
    {
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      moduleFileExtensions: ['js', 'json', 'ts'],
      transform,
      moduleNameMapper,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/utils/global-setup.ts',
      globalTeardown: '<rootDir>/test/utils/global-teardown.ts',
    },
  ],
};
