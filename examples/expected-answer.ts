/**
 * What a README example says its request answers, after `→`: a status, then optionally a body
 * written as JSON in which `…` stands for what is left out (a value, the rest of a string, more
 * members or elements), or a bare error code, then optionally headers (`Location: …`,
 * `ETag: "0"`). Anything else is prose for the reader.
 *
 *   → 201, Location: /v1/batches/01J…, ETag: "0"
 *   → 400 {"code":"INVALID_TEXT","in":"body",…}
 *   → 404 ROUTE_NOT_FOUND
 */

export type Shape =
  | { kind: 'any' }
  | { kind: 'text'; pattern: RegExp; source: string }
  | { kind: 'literal'; value: number | boolean | null }
  | { kind: 'object'; members: [string, Shape][] }
  | { kind: 'array'; elements: Shape[] };

export interface ExpectedAnswer {
  status: number | null;
  body: Shape | null;
  code: string | null;
  headers: [string, RegExp][];
}

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const ELLIPSIS = '…';
const CODE = /^[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)+$/;
const HEADER = /(?:^|,\s*)(Location|ETag|Retry-After|Content-Type):\s*([^,\s]+)/gi;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `…` and `{name}` placeholders match anything; the rest literally. */
const globPattern = (text: string): RegExp =>
  new RegExp(
    `^${text
      .split(/…|\{[A-Za-z]+\}|<[A-Za-z-]+>/)
      .map(escapeRegExp)
      .join('.*')}$`,
    's',
  );

class ShapeReader {
  private at = 0;
  constructor(private readonly text: string) {}

  get consumed(): number {
    return this.at;
  }

  read(): Shape {
    this.skipSpace();
    const char = this.text[this.at];
    if (char === '{') return this.object();
    if (char === '[') return this.array();
    if (char === '"') {
      const value = this.string();
      return value.includes(ELLIPSIS)
        ? { kind: 'text', pattern: globPattern(value), source: value }
        : { kind: 'text', pattern: new RegExp(`^${escapeRegExp(value)}$`, 's'), source: value };
    }
    if (this.text.startsWith(ELLIPSIS, this.at)) {
      this.at += ELLIPSIS.length;
      return { kind: 'any' };
    }
    const literal = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(
      this.text.slice(this.at),
    );
    if (!literal) throw new Error(`cannot read the expected body at "${this.text.slice(this.at)}"`);
    this.at += literal[0].length;
    return { kind: 'literal', value: JSON.parse(literal[0]) as number | boolean | null };
  }

  private object(): Shape {
    const members: [string, Shape][] = [];
    this.at += 1;
    for (;;) {
      this.skipSpace();
      if (this.take('}')) return { kind: 'object', members };
      if (this.take(ELLIPSIS)) continue;
      if (this.take(',')) continue;
      const key = this.string();
      this.skipSpace();
      if (!this.take(':')) throw new Error(`expected ":" after "${key}"`);
      members.push([key, this.read()]);
    }
  }

  private array(): Shape {
    const elements: Shape[] = [];
    this.at += 1;
    for (;;) {
      this.skipSpace();
      if (this.take(']')) return { kind: 'array', elements };
      if (this.take(',')) continue;
      elements.push(this.read());
    }
  }

  private string(): string {
    const match = /^"(?:[^"\\]|\\.)*"/.exec(this.text.slice(this.at));
    if (!match) throw new Error(`expected a string at "${this.text.slice(this.at)}"`);
    this.at += match[0].length;
    return JSON.parse(match[0]) as string;
  }

  private take(token: string): boolean {
    if (!this.text.startsWith(token, this.at)) return false;
    this.at += token.length;
    return true;
  }

  private skipSpace(): void {
    while (/\s/.test(this.text[this.at] ?? '')) this.at += 1;
  }
}

export const parseExpectation = (text: string): ExpectedAnswer => {
  const status = /^(\d{3})\b/.exec(text);
  let rest = status ? text.slice(3).trim() : text.trim();
  let body: Shape | null = null;
  if (rest.startsWith('{') || rest.startsWith('[')) {
    const reader = new ShapeReader(rest);
    body = reader.read();
    rest = rest.slice(reader.consumed);
  }
  const word = /^([^\s,]+)/.exec(rest)?.[1] ?? '';
  const headers = [...rest.matchAll(HEADER)].map(
    ([, name, value]) => [name!.toLowerCase(), globPattern(value!)] as [string, RegExp],
  );
  return {
    status: status ? Number(status[1]) : null,
    body,
    code: CODE.test(word) ? word : null,
    headers,
  };
};

const describe = (value: unknown): string => JSON.stringify(value)?.slice(0, 200) ?? 'nothing';

/** Where `actual` differs from `shape`, as a list of JSON-pointer-ish complaints. */
export const shapeMismatches = (shape: Shape, actual: unknown, at = '#'): string[] => {
  switch (shape.kind) {
    case 'any':
      return actual === undefined ? [`${at}: missing`] : [];
    case 'text':
      return typeof actual === 'string' && shape.pattern.test(actual)
        ? []
        : [`${at}: expected "${shape.source}", got ${describe(actual)}`];
    case 'literal':
      return actual === shape.value
        ? []
        : [`${at}: expected ${describe(shape.value)}, got ${describe(actual)}`];
    case 'object': {
      if (typeof actual !== 'object' || actual === null || Array.isArray(actual))
        return [`${at}: expected an object, got ${describe(actual)}`];
      const record = actual as Record<string, unknown>;
      return shape.members.flatMap(([key, member]) =>
        key in record
          ? shapeMismatches(member, record[key], `${at}/${key}`)
          : [`${at}/${key}: missing`],
      );
    }
    case 'array': {
      if (!Array.isArray(actual)) return [`${at}: expected an array, got ${describe(actual)}`];
      return shape.elements.flatMap((element, index) =>
        index < actual.length
          ? shapeMismatches(element, actual[index], `${at}/${index}`)
          : [`${at}/${index}: missing`],
      );
    }
    default: {
      const unknownShape: never = shape;
      return unknownShape;
    }
  }
};

/** Every way the answer falls short of what the README says; empty when it does not. */
export const answerMismatches = (expected: ExpectedAnswer, answer: Answer): string[] => {
  const problems: string[] = [];
  if (expected.status !== null && answer.status !== expected.status)
    problems.push(`status: expected ${expected.status}, got ${answer.status}`);
  if (expected.status === null && (answer.status < 200 || answer.status > 299))
    problems.push(`status: expected 2xx, got ${answer.status}`);
  if (expected.body) problems.push(...shapeMismatches(expected.body, answer.body));
  const code = (answer.body as { code?: unknown } | null)?.code;
  if (expected.code && code !== expected.code)
    problems.push(`code: expected ${expected.code}, got ${describe(code)}`);
  for (const [name, pattern] of expected.headers) {
    const value = answer.headers[name];
    if (value === undefined || !pattern.test(value))
      problems.push(`${name}: expected ${pattern.source}, got ${describe(value)}`);
  }
  return problems;
};
