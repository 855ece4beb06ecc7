import { answerMismatches, parseExpectation } from '../../examples/expected-answer';
import { readmeExamples } from '../../examples/readme-commands';

const readme = (...lines: string[]) => lines.join('\n');

describe('README examples as commands', () => {
  it('splits a block into commands across backslashes and quoted line breaks, with their expectations', () => {
    const { commands } = readmeExamples(
      readme(
        '## Courses',
        '```sh',
        '# a comment, not a command',
        "curl -s -X POST $HUB/v1/courses -H 'content-type: application/json' \\",
        `  -d '{"courseId":"c1",`,
        `       "name":"# not a comment"}'`,
        '# → 201 {"courseId":"c1",…}',
        'curl -s $HUB/v1/courses/c1   # → 200',
        'echo done',
        '```',
      ),
    );
    expect(commands).toEqual([
      expect.objectContaining({
        line: 4,
        section: 'Courses',
        expectation: '201 {"courseId":"c1",…}',
      }),
      expect.objectContaining({
        line: 8,
        text: 'curl -s $HUB/v1/courses/c1   # → 200',
        expectation: '200',
      }),
      expect.objectContaining({ line: 9, text: 'echo done', expectation: null }),
    ]);
    expect(commands[0]!.text.split('\n')).toHaveLength(3);
  });

  it('leaves out a block marked "not run", saying why', () => {
    const { commands, skipped } = readmeExamples(
      readme(
        '# Hub',
        '<!-- not run: starts a second hub -->',
        '```sh',
        'npm start',
        '```',
        '```sh',
        'ls',
        '```',
      ),
    );
    expect(skipped).toEqual([{ line: 3, section: 'Hub', reason: 'starts a second hub' }]);
    expect(commands.map((c) => c.text)).toEqual(['ls']);
  });

  it('refuses a command whose quote never closes', () => {
    expect(() => readmeExamples(readme('```sh', "curl -d '{", '```'))).toThrow(/never ends/);
  });
});

describe('what an example says it answers', () => {
  const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    body,
    headers,
  });

  it('holds when status, body shape, code and headers match', () => {
    const expected = parseExpectation(
      '201 {"keyId":"01J…","roles":["CONTENT_CREATOR"],"nested":{"n":1,…},…}, Location: /v1/keys/01J…, ETag: "0" (shown once)',
    );
    expect(
      answerMismatches(
        expected,
        answer(
          201,
          { keyId: '01JABC', roles: ['CONTENT_CREATOR', 'x'], nested: { n: 1, m: 2 }, extra: true },
          { location: '/v1/keys/01JABC', etag: '"0"' },
        ),
      ),
    ).toEqual([]);
  });

  it('names every difference', () => {
    const expected = parseExpectation(
      '400 {"code":"INVALID_TEXT","in":"body","issues":[{"field":"#/t",…}],…}',
    );
    expect(
      answerMismatches(expected, answer(422, { code: 'other', issues: [{ field: '#/u' }] })),
    ).toEqual([
      'status: expected 400, got 422',
      '#/code: expected "INVALID_TEXT", got "other"',
      '#/in: missing',
      '#/issues/0/field: expected "#/t", got "#/u"',
    ]);
  });

  it('reads a bare error code and ignores prose', () => {
    const expected = parseExpectation('404 ROUTE_NOT_FOUND, at once');
    expect(expected).toMatchObject({ status: 404, code: 'ROUTE_NOT_FOUND', body: null });
    expect(answerMismatches(expected, answer(404, { code: 'ROUTE_NOT_FOUND' }))).toEqual([]);
    expect(answerMismatches(parseExpectation('401 at once'), answer(401, null))).toEqual([]);
  });

  it('wants a 2xx when an example says nothing', () => {
    expect(answerMismatches(parseExpectation(''), answer(204, null))).toEqual([]);
    expect(answerMismatches(parseExpectation(''), answer(404, {}))).toEqual([
      'status: expected 2xx, got 404',
    ]);
  });

  it('checks a header the example names', () => {
    expect(
      answerMismatches(parseExpectation('201, ETag: "0"'), answer(201, null, { etag: '"1"' })),
    ).toEqual(['etag: expected ^"0"$, got "\\"1\\""']);
  });
});
