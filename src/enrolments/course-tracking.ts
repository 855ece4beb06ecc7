import { CourseNode } from '../courses/course.events';
import { ContentState, ProgressSummary } from './enrolment.events';

/**
 * A leaf as tracking sees it. An assessment's maxScore is the course's declared maximum, the
 * authority on its attempts' maximum; null when the recorded hierarchy has no sound one (a
 * whole number from 1), which the course decider no longer accepts.
 */
export type TrackedLeaf =
  | { kind: 'content'; optional: boolean }
  | { kind: 'assessment'; optional: boolean; maxScore: number | null };

/** What progress needs to know of a course's hierarchy, flattened once per hierarchy version. */
export interface CourseTracking {
  courseId: string;
  hierarchyVersion: number;
  leaves: ReadonlyMap<string, TrackedLeaf>;
  requiredLeafIds: readonly string[];
  /** Each nested unit with the contents its progress counts: its required leaves (all if none). */
  units: readonly { unitId: string; leafIds: readonly string[] }[];
  assessmentIds: readonly string[];
}

const declaredMax = (maxScore: unknown): number | null =>
  typeof maxScore === 'number' && Number.isInteger(maxScore) && maxScore >= 1 ? maxScore : null;

export const courseTracking = (
  courseId: string,
  hierarchyVersion: number,
  children: readonly CourseNode[],
): CourseTracking => {
  const leaves = new Map<string, TrackedLeaf>();
  const units: { unitId: string; leafIds: string[] }[] = [];
  const walk = (nodes: readonly CourseNode[]): { id: string; optional: boolean }[] =>
    nodes.flatMap((node) => {
      if (node.kind !== 'unit') {
        leaves.set(
          node.id,
          node.kind === 'assessment'
            ? { kind: 'assessment', optional: node.optional, maxScore: declaredMax(node.maxScore) }
            : { kind: 'content', optional: node.optional },
        );
        return [{ id: node.id, optional: node.optional }];
      }
      const inside = walk(node.children);
      const required = inside.filter((leaf) => !leaf.optional);
      units.push({
        unitId: node.id,
        leafIds: (required.length > 0 ? required : inside).map((leaf) => leaf.id),
      });
      return inside;
    });
  const all = walk(children);
  return {
    courseId,
    hierarchyVersion,
    leaves,
    requiredLeafIds: all.filter((leaf) => !leaf.optional).map((leaf) => leaf.id),
    units,
    assessmentIds: [...leaves].filter(([, leaf]) => leaf.kind === 'assessment').map(([id]) => id),
  };
};

/** Integer percent rounded down, so 100 means every one is done. */
const percentOf = (done: number, of: number): number =>
  of === 0 ? 100 : done >= of ? 100 : Math.floor((done * 100) / of);

const completedAmong = (ids: readonly string[], contents: Readonly<Record<string, ContentState>>) =>
  ids.reduce((count, id) => (contents[id]?.status === 2 ? count + 1 : count), 0);

export const summarizeProgress = (
  contents: Readonly<Record<string, ContentState>>,
  course: CourseTracking,
): ProgressSummary => {
  const completedCount = completedAmong(course.requiredLeafIds, contents);
  const units: Record<string, number> = {};
  for (const unit of course.units)
    units[unit.unitId] = percentOf(completedAmong(unit.leafIds, contents), unit.leafIds.length);
  return {
    completedCount,
    requiredCount: course.requiredLeafIds.length,
    percent: percentOf(completedCount, course.requiredLeafIds.length),
    units,
  };
};
