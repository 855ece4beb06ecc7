import { CourseNode } from '../../src/courses/course.events';
import { courseTracking, summarizeProgress } from '../../src/enrolments/course-tracking';
import { ContentState } from '../../src/enrolments/enrolment.events';

const T1 = '2026-12-10T09:00:00.000Z';

/**
 * unit-1            required leaves: c1, c2, a1
 *   c1              content, required
 *   c-opt           content, optional
 *   unit-1a         required leaves: c2, a1
 *     c2            content, required
 *     a1            assessment, required (max 10)
 * a2                assessment, optional (max 5)
 * unit-2            only optional contents: all of them count for the unit
 *   c3-opt          content, optional
 */
const children: CourseNode[] = [
  {
    kind: 'unit',
    id: 'unit-1',
    name: 'Module 1',
    children: [
      { kind: 'content', id: 'c1', name: 'Video', optional: false },
      { kind: 'content', id: 'c-opt', name: 'Extra reading', optional: true },
      {
        kind: 'unit',
        id: 'unit-1a',
        name: 'Module 1a',
        children: [
          { kind: 'content', id: 'c2', name: 'Exercise', optional: false },
          { kind: 'assessment', id: 'a1', name: 'Quiz 1', optional: false, maxScore: 10 },
        ],
      },
    ],
  },
  { kind: 'assessment', id: 'a2', name: 'Bonus quiz', optional: true, maxScore: 5 },
  {
    kind: 'unit',
    id: 'unit-2',
    name: 'Appendix',
    children: [{ kind: 'content', id: 'c3-opt', name: 'Glossary', optional: true }],
  },
];

const course = courseTracking('course-1', 3, children);

const done = (...ids: string[]): Record<string, ContentState> =>
  Object.fromEntries(ids.map((id) => [id, { status: 2, lastAccessTime: T1 }]));

describe('courseTracking', () => {
  it('keeps the course id and the hierarchy version', () => {
    expect(course.courseId).toBe('course-1');
    expect(course.hierarchyVersion).toBe(3);
  });

  it('lists every leaf, however deep, with its kind, whether it is optional and an assessment’s maxScore', () => {
    expect([...course.leaves]).toEqual([
      ['c1', { kind: 'content', optional: false }],
      ['c-opt', { kind: 'content', optional: true }],
      ['c2', { kind: 'content', optional: false }],
      ['a1', { kind: 'assessment', optional: false, maxScore: 10 }],
      ['a2', { kind: 'assessment', optional: true, maxScore: 5 }],
      ['c3-opt', { kind: 'content', optional: true }],
    ]);
  });

  it('gives an assessment recorded without a sound maxScore (a whole number from 1) none', () => {
    const unsound = courseTracking('course-old', 1, [
      { kind: 'content', id: 'c1', name: 'Video', optional: false },
      { kind: 'assessment', id: 'zero', name: 'Quiz', optional: false, maxScore: 0 },
      { kind: 'assessment', id: 'part', name: 'Quiz', optional: false, maxScore: 2.5 },
      { kind: 'assessment', id: 'none', name: 'Quiz', optional: false } as CourseNode,
    ]);
    expect(['zero', 'part', 'none'].map((id) => unsound.leaves.get(id))).toEqual([
      { kind: 'assessment', optional: false, maxScore: null },
      { kind: 'assessment', optional: false, maxScore: null },
      { kind: 'assessment', optional: false, maxScore: null },
    ]);
  });

  it('does not list units as leaves', () => {
    expect(course.leaves.has('unit-1')).toBe(false);
    expect(course.leaves.has('unit-1a')).toBe(false);
    expect(course.leaves.has('unit-2')).toBe(false);
  });

  it('requires the non-optional leaves only', () => {
    expect(course.requiredLeafIds).toEqual(['c1', 'c2', 'a1']);
  });

  it('gives each unit, nested ones too, its required leaves, or all its leaves when none is required', () => {
    expect(course.units).toEqual([
      { unitId: 'unit-1a', leafIds: ['c2', 'a1'] },
      { unitId: 'unit-1', leafIds: ['c1', 'c2', 'a1'] },
      { unitId: 'unit-2', leafIds: ['c3-opt'] },
    ]);
  });

  it('lists the assessments, optional ones included', () => {
    expect(course.assessmentIds).toEqual(['a1', 'a2']);
  });

  it('handles a flat course without units or assessments', () => {
    const flat = courseTracking('course-flat', 1, [
      { kind: 'content', id: 'x', name: 'X', optional: false },
      { kind: 'content', id: 'y', name: 'Y', optional: true },
    ]);
    expect(flat).toEqual({
      courseId: 'course-flat',
      hierarchyVersion: 1,
      leaves: new Map([
        ['x', { kind: 'content', optional: false }],
        ['y', { kind: 'content', optional: true }],
      ]),
      requiredLeafIds: ['x'],
      units: [],
      assessmentIds: [],
    });
  });
});

describe('summarizeProgress', () => {
  it('is 0 everywhere before anything is completed (the all-optional unit too)', () => {
    expect(summarizeProgress({}, course)).toEqual({
      completedCount: 0,
      requiredCount: 3,
      percent: 0,
      units: { 'unit-1': 0, 'unit-1a': 0, 'unit-2': 0 },
    });
  });

  it('counts only completed contents (status 2), not those in progress', () => {
    expect(
      summarizeProgress({ c1: { status: 1, lastAccessTime: T1 }, ...done('c2') }, course),
    ).toEqual({
      completedCount: 1,
      requiredCount: 3,
      percent: 33,
      units: { 'unit-1': 33, 'unit-1a': 50, 'unit-2': 0 },
    });
  });

  it('rounds down: 1 of 3 is 33, 2 of 3 is 66', () => {
    expect(summarizeProgress(done('c1'), course).percent).toBe(33);
    expect(summarizeProgress(done('c1', 'c2'), course).percent).toBe(66);
  });

  it('ignores optional contents for the course and for units with required contents', () => {
    expect(summarizeProgress(done('c-opt', 'a2', 'c3-opt'), course)).toEqual({
      completedCount: 0,
      requiredCount: 3,
      percent: 0,
      units: { 'unit-1': 0, 'unit-1a': 0, 'unit-2': 100 },
    });
  });

  it('computes each nested unit over its own required contents', () => {
    expect(summarizeProgress(done('c2', 'a1'), course)).toEqual({
      completedCount: 2,
      requiredCount: 3,
      percent: 66,
      units: { 'unit-1': 66, 'unit-1a': 100, 'unit-2': 0 },
    });
  });

  it('is 100 once every required content is completed', () => {
    expect(summarizeProgress(done('c1', 'c2', 'a1'), course)).toEqual({
      completedCount: 3,
      requiredCount: 3,
      percent: 100,
      units: { 'unit-1': 100, 'unit-1a': 100, 'unit-2': 0 },
    });
  });

  it('ignores contents that are not in the course', () => {
    expect(summarizeProgress(done('gone', 'c1'), course).completedCount).toBe(1);
  });

  it('never shows 100 while one required content is missing, however many there are', () => {
    const many = courseTracking(
      'course-big',
      1,
      Array.from({ length: 200 }, (_, i) => ({
        kind: 'content' as const,
        id: `x${i}`,
        name: `X${i}`,
        optional: false,
      })),
    );
    const all = Array.from({ length: 199 }, (_, i) => `x${i}`);
    expect(summarizeProgress(done(...all), many).percent).toBe(99);
  });
});
