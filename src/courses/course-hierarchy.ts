import { sameJson } from '../event-sourcing/canonical-json';
import { FieldIssue } from '../errors/hub-error';

/** A course is a tree: units nest; contents and assessments are its leaves. */
export type CourseNode =
  | { kind: 'unit'; id: string; name: string; children: CourseNode[] }
  | { kind: 'content'; id: string; name: string; optional: boolean }
  | { kind: 'assessment'; id: string; name: string; optional: boolean; maxScore: number };

export type CourseLeaf = Exclude<CourseNode, { kind: 'unit' }>;

export const MAX_NODES = 5_000;
export const MAX_DEPTH = 12;
export const MAX_ASSESSMENT_SCORE = 1_000_000;

export const leavesOf = (nodes: readonly CourseNode[]): CourseLeaf[] =>
  nodes.flatMap((node) => (node.kind === 'unit' ? leavesOf(node.children) : [node]));

export const unitsOf = (nodes: readonly CourseNode[]): Extract<CourseNode, { kind: 'unit' }>[] =>
  nodes.flatMap((node) => (node.kind === 'unit' ? [node, ...unitsOf(node.children)] : []));

/** Problems that make a hierarchy unusable for tracking progress; empty when it is sound. */
export const hierarchyIssues = (children: readonly CourseNode[]): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  let count = 0;
  const walk = (nodes: readonly CourseNode[], path: string, depth: number) => {
    nodes.forEach((node, index) => {
      const at = `${path}[${index}]`;
      count += 1;
      if (seen.has(node.id))
        issues.push({ field: `${at}.id`, message: `duplicate node id "${node.id}"` });
      seen.add(node.id);
      if (depth > MAX_DEPTH)
        issues.push({ field: at, message: `units nest at most ${MAX_DEPTH} deep` });
      else if (node.kind === 'unit') {
        if (node.children.length === 0)
          issues.push({ field: `${at}.children`, message: 'a unit needs at least one child' });
        walk(node.children, `${at}.children`, depth + 1);
      } else if (
        node.kind === 'assessment' &&
        !(
          Number.isInteger(node.maxScore) &&
          node.maxScore >= 1 &&
          node.maxScore <= MAX_ASSESSMENT_SCORE
        )
      )
        // Its attempts are scored out of it: the learner's client does not set the maximum.
        issues.push({
          field: `${at}.maxScore`,
          message: `an assessment needs a maxScore, a whole number from 1 to ${MAX_ASSESSMENT_SCORE}`,
        });
    });
  };
  walk(children, 'children', 1);
  if (count > MAX_NODES)
    issues.push({ field: 'children', message: `a course has at most ${MAX_NODES} nodes` });
  if (!leavesOf(children).some((leaf) => !leaf.optional))
    issues.push({ field: 'children', message: 'a course needs at least one required content' });
  return issues;
};

export const sameHierarchy = (a: readonly CourseNode[], b: readonly CourseNode[]): boolean =>
  sameJson(a, b);
