import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Each import rule of the README's architecture section, broken on purpose in a small tree of
 * its own, must fail the check that `npm run lint` runs (.ci/check-imports), naming the rule.
 */
const repo = resolve(__dirname, '../..');
type Tree = Record<string, string>;

const source = (...imports: string[]): string =>
  imports
    .map((from, i) => `import * as m${i} from '${from}';\nexport const u${i} = m${i};\n`)
    .join('') || 'export const nothing = 0;\n';

/** A tree that keeps every rule: the shape of the real one. */
const sound: Tree = {
  'src/courses/course.events.ts': source('../event-sourcing/decider'),
  'src/courses/course.decider.ts': source('./course.events', '../errors/hub-error'),
  'src/courses/courses.controller.ts': source(
    '@nestjs/common',
    './course.decider',
    '../../projections/courses/courses.query',
    '../../projections/engine/projection-engine.service',
  ),
  'src/batches/batch.decider.ts': source('../courses/course.decider', '../courses/course.events'),
  'src/event-sourcing/decider.ts': source(),
  'src/errors/hub-error.ts': source(),
  'src/database/sql-database.ts': source('pg'),
  'src/auth/principal.ts': source(),
  'projections/courses/courses.query.ts': source('../../src/database/sql-database'),
  'projections/courses/courses.projection.ts': source(
    '../../src/courses/course.events',
    '../engine/projection',
    './courses.query',
  ),
  'projections/batch-status/batch-status.query.ts': source('../courses/courses.query'),
  'projections/engine/projection.ts': source('../../src/database/sql-database'),
  'projections/engine/projection-engine.service.ts': source('./projection'),
};

const violations: Array<{ rule: string; tree: Tree }> = [
  {
    rule: 'decider-and-events-are-pure',
    tree: { 'src/courses/course.decider.ts': source('./course.events', '@nestjs/common') },
  },
  {
    rule: 'decider-and-events-are-pure',
    tree: { 'src/courses/course.events.ts': source('../database/sql-database') },
  },
  {
    rule: 'projection-reads-only-events',
    tree: {
      'projections/courses/courses.projection.ts': source('../../src/courses/course.decider'),
    },
  },
  {
    rule: 'only-queries-compose-read-models',
    tree: {
      'projections/courses/courses.projection.ts': source('../batch-status/batch-status.query'),
    },
  },
  {
    rule: 'slice-reads-read-models-through-queries',
    tree: {
      'src/courses/courses.controller.ts': source('../../projections/courses/courses.projection'),
    },
  },
  {
    rule: 'slice-reads-read-models-through-queries',
    tree: { 'src/courses/courses.controller.ts': source('../../projections/engine/projection') },
  },
  {
    rule: 'infrastructure-knows-no-slice',
    tree: { 'src/auth/principal.ts': source('../courses/course.decider') },
  },
  {
    rule: 'slices-meet-at-their-public-surface',
    tree: { 'src/batches/batch.decider.ts': source('../courses/courses.controller') },
  },
  {
    rule: 'no-module-cycles',
    tree: {
      'src/courses/course.decider.ts': source('./course.events'),
      'src/courses/course.events.ts': source('./course.decider'),
    },
  },
  {
    rule: 'no-folder-cycles',
    tree: {
      'src/errors/hub-error.ts': source('../auth/principal'),
      'src/auth/principal.ts': source(),
      'src/auth/roles.ts': source('../errors/hub-error'),
      'src/errors/problem.ts': source('../auth/roles'),
    },
  },
  {
    rule: 'no-folder-cycles',
    tree: {
      'projections/courses/courses.query.ts': source('../batch-status/batch-status.query'),
      'projections/batch-status/batch-status.query.ts': source('../courses/course-rows.query'),
      'projections/courses/course-rows.query.ts': source(),
    },
  },
];

const check = (tree: Tree): { status: number | null; output: string } => {
  const root = mkdtempSync(join(tmpdir(), 'import-rules-'));
  try {
    writeFileSync(
      join(root, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true } }),
    );
    symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
    for (const [path, text] of Object.entries({ ...sound, ...tree })) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const run = spawnSync('bash', [join(repo, '.ci/check-imports'), root], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};

describe('import rules', () => {
  it('pass a tree shaped as the README describes', () => {
    const { status, output } = check({});
    expect(output).not.toContain('error');
    expect(status).toBe(0);
  });

  it.each(violations.map((v, i) => [v.rule, i] as const))(
    'fail a tree that breaks %s (fixture %i), naming the rule',
    (rule, index) => {
      const { status, output } = check(violations[index]!.tree);
      expect(output).toContain(`error ${rule}:`);
      expect(status).not.toBe(0);
    },
  );

  it('pass on this repository', () => {
    const run = spawnSync('bash', [join(repo, '.ci/check-imports')], { encoding: 'utf8' });
    expect(`${run.stdout}${run.stderr}`).toContain('no dependency violations found');
    expect(run.status).toBe(0);
  });
});
