import { appendFileSync } from 'node:fs';
import { openApiTally, takeOpenApiViolations } from './openapi-conformance';

/**
 * Set up for every e2e suite (jest.config.js): each answer the hub gave during a test (and the
 * hooks before it) must be one its OpenAPI document describes, or the test fails listing them.
 * HUB_OPENAPI_TALLY names a file to which each suite appends how many answers were checked.
 */
const failOnViolations = (when: string): void => {
  const found = takeOpenApiViolations();
  if (found.length > 0)
    throw new Error(
      `${found.length} answer(s) ${when} do not match the OpenAPI document (/docs/json):\n- ${found.join('\n- ')}`,
    );
};

afterEach(() => failOnViolations('during this test'));

afterAll(() => {
  const tallyFile = process.env.HUB_OPENAPI_TALLY;
  if (tallyFile) {
    const suite = expect.getState().testPath ?? 'unknown';
    appendFileSync(tallyFile, `${JSON.stringify({ suite, ...openApiTally() })}\n`);
  }
  failOnViolations('after the last test');
});
