import { FieldIssue, InvalidInputError } from '../errors/hub-error';
import { DEFAULT_TEMPLATE_KEY } from '../publishing/learning-event.events';
import { TemplateEntry, TemplateSet } from './subscription.events';
import { compiledTemplate, TemplateError } from './templates';

export const MAX_TEMPLATE_ENTRIES = 200;
export const MAX_TEMPLATE_LENGTH = 65_536;
/**
 * Expressions (`{{…}}`) in a set's distinct templates together. Saving a set compiles them on
 * the request's thread, at about 80 µs an expression here (BENCHMARKS.md): this keeps one save
 * under a tenth of a second, where 6,000 expressions in one template took half a second.
 */
export const MAX_SET_EXPRESSIONS = 1_000;

/** `{{` openings in the distinct template texts of a set, counted before anything is parsed. */
const expressionCount = (raw: Record<string, unknown>): number => {
  const sources = new Set<string>();
  for (const entry of Object.values(raw)) {
    const imported = isPlainObject(entry) && (entry.action ?? 'import') === 'import';
    const template = imported ? entry.template : null;
    if (typeof template === 'string' && template.length <= MAX_TEMPLATE_LENGTH)
      sources.add(template);
  }
  let count = 0;
  for (const source of sources)
    for (let at = source.indexOf('{{'); at !== -1; at = source.indexOf('{{', at + 2)) count++;
  return count;
};

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a template set as a client sent it: `{ [category or *_default]: {action, label,
 * template} }`, every template compiled. All problems are reported at once, each with where it
 * is (`templates.COURSE.template`) and, for a template that does not compile, its line and column.
 */
export const checkTemplateSet = (raw: unknown, field = 'templates'): TemplateSet => {
  const issues: FieldIssue[] = [];
  if (!isPlainObject(raw))
    throw new InvalidInputError('The template set is not valid', [
      { field, message: `must be an object keyed by category value or ${DEFAULT_TEMPLATE_KEY}` },
    ]);
  const keys = Object.keys(raw);
  if (keys.length === 0)
    issues.push({ field, message: 'must name at least one category or *_default' });
  if (keys.length > MAX_TEMPLATE_ENTRIES)
    issues.push({ field, message: `must have at most ${MAX_TEMPLATE_ENTRIES} entries` });
  if (expressionCount(raw) > MAX_SET_EXPRESSIONS)
    throw new InvalidInputError(
      'The template set is not valid',
      [
        {
          field,
          message: `its templates may hold at most ${MAX_SET_EXPRESSIONS} {{…}} expressions together`,
        },
      ],
      'INVALID_TEMPLATE',
    );
  // Entries, not assignments: a category may be called "__proto__" like anything else.
  const entries: [string, TemplateEntry][] = [];
  for (const key of keys.slice(0, MAX_TEMPLATE_ENTRIES)) {
    const at = `${field}.${key}`;
    const entry = raw[key];
    if (key.trim().length === 0 || key.length > 100) {
      issues.push({ field: at, message: 'a category value is 1 to 100 characters' });
      continue;
    }
    if (!isPlainObject(entry)) {
      issues.push({ field: at, message: 'must be an object {action, label, template}' });
      continue;
    }
    for (const name of Object.keys(entry))
      if (!['action', 'label', 'template'].includes(name))
        issues.push({ field: `${at}.${name}`, message: 'is not a field of a template entry' });
    const action = entry.action ?? 'import';
    if (action !== 'import' && action !== 'ignore') {
      issues.push({ field: `${at}.action`, message: 'must be import or ignore' });
      continue;
    }
    const label = entry.label ?? null;
    if (label !== null && (typeof label !== 'string' || label.length > 200))
      issues.push({ field: `${at}.label`, message: 'must be a string of at most 200 characters' });
    const template = entry.template ?? null;
    if (action === 'import') {
      if (typeof template !== 'string' || template.trim().length === 0) {
        issues.push({ field: `${at}.template`, message: 'is required to import a category' });
        continue;
      }
      if (template.length > MAX_TEMPLATE_LENGTH) {
        issues.push({
          field: `${at}.template`,
          message: `must be at most ${MAX_TEMPLATE_LENGTH} characters`,
        });
        continue;
      }
      try {
        compiledTemplate(template);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        const where =
          error.line === null
            ? ''
            : `line ${error.line}${error.column === null ? '' : `, column ${error.column}`}: `;
        issues.push({ field: `${at}.template`, message: `${where}${error.message}` });
        continue;
      }
    } else if (template !== null && typeof template !== 'string') {
      issues.push({ field: `${at}.template`, message: 'must be a string' });
      continue;
    }
    entries.push([
      key,
      {
        action,
        label: typeof label === 'string' ? label : null,
        template: action === 'import' ? template : null,
      },
    ]);
  }
  if (issues.length > 0)
    throw new InvalidInputError('The template set is not valid', issues, 'INVALID_TEMPLATE');
  return Object.fromEntries(entries);
};

/** The entry for a category: its own, else `*_default`, else none (nothing to do with it). */
export const templateFor = (
  set: TemplateSet,
  categoryValue: string | null,
): { key: string; entry: TemplateEntry } | null => {
  // Own entries only: "constructor" or "toString" are categories, not the object's methods.
  if (categoryValue !== null && Object.hasOwn(set, categoryValue))
    return { key: categoryValue, entry: set[categoryValue]! };
  return Object.hasOwn(set, DEFAULT_TEMPLATE_KEY)
    ? { key: DEFAULT_TEMPLATE_KEY, entry: set[DEFAULT_TEMPLATE_KEY]! }
    : null;
};

/** Whether a subscription with this set receives the category at all. */
export const importsCategory = (set: TemplateSet, categoryValue: string | null): boolean =>
  templateFor(set, categoryValue)?.entry.action === 'import';
