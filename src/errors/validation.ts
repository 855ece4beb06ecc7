import { ValidationError, ValidationPipe } from '@nestjs/common';
import { FieldIssue, InvalidInputError } from './hub-error';

const flatten = (errors: ValidationError[], parent = ''): FieldIssue[] =>
  errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });

/** Request DTO validation: unknown properties are refused, failures become InvalidInputError. */
export const createValidationPipe = (): ValidationPipe =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) =>
      new InvalidInputError('The request is not valid', flatten(errors), 'VALIDATION_FAILED'),
  });
