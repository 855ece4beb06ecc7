/** Test tiers by suffix: unit (pure), int (PostgreSQL, adapters, projections), e2e (the HTTP app and the process). */
const swcJs = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
];
// Jest on Node 20 cannot require() ES modules, so the few ESM-only dependencies are compiled to CommonJS.
const esmOnly = ['content-disposition'];
const transform = {
  '^.+\\.js$': swcJs,
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
};
const common = {
  transform,
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/projections', '<rootDir>/test'],
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.unit.spec.ts'] },
    { ...common, displayName: 'int', testMatch: ['**/*.int.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['**/*.e2e.spec.ts'],
      // Every answer of the hub in an e2e test is checked against its OpenAPI document.
      setupFilesAfterEnv: ['<rootDir>/test/support/openapi-setup.ts'],
    },
  ],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  maxWorkers: 1,
  // A global option: Jest ignores it inside projects. Covers hooks that start databases too.
  testTimeout: 180000,
};
