import { CourseNode } from '../courses/course-hierarchy';
import { ContentState, ProgressSummary } from './enrolment.events';

/** What progress needs to know of a course's hierarchy, flattened once per hierarchy version. */
export interface CourseTracking {
  courseId: string;
  hierarchyVersion: number;
  leaves: ReadonlyMap<string, { kind: 'content' | 'assessment'; optional: boolean }>;
  requiredLeafIds: readonly string[];
  /** Each nested unit with the contents its progress counts: its required leaves (all if none). */
  units: readonly { unitId: string; leafIds: readonly string[] }[];
  assessmentIds: readonly string[];
}

export const courseTracking = (
  courseId: string,
  hierarchyVersion: number,
  children: readonly CourseNode[],
): CourseTracking => {
  const leaves = new Map<string, { kind: 'content' | 'assessment'; optional: boolean }>();
  const units: { unitId: string; leafIds: string[] }[] = [];
  const walk = (nodes: readonly CourseNode[]): { id: string; optional: boolean }[] =>
    nodes.flatMap((node) => {
      if (node.kind !== 'unit') {
        leaves.set(node.id, { kind: node.kind, optional: node.optional });
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
