import { PROBLEM_DETAILS_SCHEMA } from '../../src/errors/api-problems';
import { ERROR_CODES } from '../../src/errors/error-codes';

describe('error codes', () => {
  it('come in one casing, SCREAMING_SNAKE_CASE, each once, in order', () => {
    const misshapen = ERROR_CODES.filter((code) => !/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(code));
    expect(misshapen).toEqual([]);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect([...ERROR_CODES]).toEqual([...ERROR_CODES].sort());
  });

  it('are all listed on the OpenAPI ProblemDetails schema', () => {
    const code = PROBLEM_DETAILS_SCHEMA.properties?.code as { enum?: unknown[] } | undefined;
    expect(code?.enum).toEqual([...ERROR_CODES]);
  });
});
