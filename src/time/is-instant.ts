import { ValidateBy } from 'class-validator';
import { isIsoInstant } from './calendar';

/** DTO rule: an ISO 8601 instant with Z or an offset (a bare local time is ambiguous). */
export const IsInstant = () =>
  ValidateBy({
    name: 'isInstant',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isIsoInstant(value),
      defaultMessage: (args) =>
        `${args?.property ?? 'value'} must be an instant with a zone, e.g. 2026-11-22T10:15:00Z`,
    },
  });
