import { createParamDecorator, ExecutionContext, Param, PipeTransform } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { InvalidInputError } from '../errors/hub-error';

/** The request id (x-request-id): recorded as the correlation id of the events a request causes. */
export const RequestId = createParamDecorator((_: unknown, context: ExecutionContext): string =>
  String(context.switchToHttp().getRequest<FastifyRequest>().id),
);

/** Identifiers clients choose (users, courses, batches): safe in stream names, URLs and CSVs. */
export const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
export const IDENTIFIER_RULE =
  '1-128 characters: letters, digits and . _ : @ -, starting with a letter or digit';

class PatternPipe implements PipeTransform<string, string> {
  constructor(
    private readonly name: string,
    private readonly pattern: RegExp,
    private readonly rule: string,
  ) {}

  transform(value: string): string {
    if (!this.pattern.test(value))
      throw new InvalidInputError(
        `${this.name} is not a valid identifier`,
        [{ field: this.name, message: `must be ${this.rule}` }],
        'INVALID_IDENTIFIER',
      );
    return value;
  }
}

/** A path parameter that must be an identifier; 400 otherwise, before any handler runs. */
export const IdParam = (name: string) =>
  Param(name, new PatternPipe(name, IDENTIFIER, IDENTIFIER_RULE));

/** A path parameter that must match `pattern` (described by `rule`); 400 otherwise. */
export const PatternParam = (name: string, pattern: RegExp, rule: string) =>
  Param(name, new PatternPipe(name, pattern, rule));
