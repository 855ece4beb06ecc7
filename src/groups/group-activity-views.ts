import {
  GroupActivity,
  GroupActivityAggregates,
  MemberCursor,
  PROGRESS_BUCKETS,
} from '../../projections/group-activity/group-activity.query';
import { InvalidInputError } from '../errors/hub-error';
import {
  AggMemberView,
  AggMetric,
  GroupActivityAggView,
  GroupActivityStandingView,
} from './group-activity.dto';
import { NamedMember } from './group-activity';

const epochMs = (at: Date | string | null): number | null =>
  at === null ? null : new Date(at).getTime();

const metric = (name: string, value: number, at: Date | string | null): AggMetric => ({
  metric: name,
  value,
  lastUpdatedOn: epochMs(at),
});

/** `progress:0-10` … `progress:90-100`, the buckets' bounds in percent. */
const bucketName = (bucket: number): string =>
  `progress:${bucket * 10}-${bucket === PROGRESS_BUCKETS - 1 ? 100 : bucket * 10 + 10}`;

/**
 * The activity's metrics in the reference's `{metric, value, lastUpdatedOn}` form: its
 * `enrolmentCount` first, then what the reference lacks at activity level.
 */
const activityMetrics = (aggregates: GroupActivityAggregates): AggMetric[] => {
  const at = aggregates.lastUpdatedOn;
  return [
    metric('enrolmentCount', aggregates.enrolmentCount, at),
    metric('completedCount', aggregates.completedCount, at),
    metric('memberCount', aggregates.memberCount, at),
    ...(aggregates.averageProgress === null
      ? []
      : [metric('progress', aggregates.averageProgress, at)]),
    ...aggregates.progressDistribution.map((count, bucket) =>
      metric(bucketName(bucket), count, at),
    ),
    ...aggregates.assessments.flatMap((assessment) => {
      const { contentId, lastUpdatedOn } = assessment;
      return [
        metric(`attempted_count:${contentId}`, assessment.attempted, lastUpdatedOn),
        metric(`average_score:${contentId}`, assessment.averageScore, lastUpdatedOn),
        metric(`lowest_score:${contentId}`, assessment.lowestScore, lastUpdatedOn),
        metric(`highest_score:${contentId}`, assessment.highestScore, lastUpdatedOn),
        metric(`max_score:${contentId}`, assessment.maxScore, lastUpdatedOn),
        metric(`attempts_count:${contentId}`, assessment.attempts, lastUpdatedOn),
      ];
    }),
  ];
};

/** A member's metrics as the reference names them; none for a member not enrolled. */
const memberMetrics = (member: NamedMember): AggMetric[] => {
  const enrolment = member.enrolment;
  if (enrolment === null) return [];
  return [
    metric('completedCount', enrolment.completedCount, enrolment.updatedAt),
    metric('progress', enrolment.progressPercent, enrolment.updatedAt),
    ...Object.entries(enrolment.scores)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([contentId, score]) => [
        metric(`score:${contentId}`, score.score, score.at),
        metric(`max_score:${contentId}`, score.maxScore, score.at),
        metric(`attempts_count:${contentId}`, score.attempts, score.at),
      ]),
  ];
};

const aggMember = (member: NamedMember): AggMemberView => ({
  userId: member.userId,
  name: member.name,
  role: member.role,
  status: member.status,
  createdBy: member.createdBy,
  enrolment:
    member.enrolment === null
      ? null
      : {
          batchId: member.enrolment.batchId,
          progress: member.enrolment.progressPercent,
          status: member.enrolment.status,
          completedOn: member.enrolment.completedOn?.toISOString() ?? null,
        },
  agg: memberMetrics(member),
});

export const referenceView = (
  activity: GroupActivity,
  aggregates: GroupActivityAggregates,
  members: readonly NamedMember[],
): GroupActivityAggView => ({
  groupId: activity.groupId,
  activity: {
    id: activity.activityId,
    type: activity.activityType,
    agg: activityMetrics(aggregates),
  },
  members: members.map(aggMember),
});

export const aggregatesView = (aggregates: GroupActivityAggregates) => ({
  ...aggregates,
  assessments: aggregates.assessments.map((assessment) => ({
    ...assessment,
    lastUpdatedOn: assessment.lastUpdatedOn.toISOString(),
  })),
  lastUpdatedOn: aggregates.lastUpdatedOn?.toISOString() ?? null,
});

export const restView = (
  activity: GroupActivity,
  aggregates: GroupActivityAggregates,
  members: readonly NamedMember[],
  next: MemberCursor | null,
): GroupActivityStandingView => ({
  groupId: activity.groupId,
  activityId: activity.activityId,
  activityType: activity.activityType,
  aggregates: aggregatesView(aggregates),
  members: members.map((member) => ({
    userId: member.userId,
    name: member.name,
    role: member.role,
    status: member.status,
    createdBy: member.createdBy,
    joinedAt: member.joinedAt.toISOString(),
    enrolment:
      member.enrolment === null
        ? null
        : {
            batchId: member.enrolment.batchId,
            enrolledAt: member.enrolment.enrolledAt.toISOString(),
            status: member.enrolment.status,
            progressPercent: member.enrolment.progressPercent,
            completedCount: member.enrolment.completedCount,
            completedOn: member.enrolment.completedOn?.toISOString() ?? null,
            scorePercent: member.enrolment.scorePercent,
            scores: Object.entries(member.enrolment.scores)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([contentId, score]) => ({
                contentId,
                score: score.score,
                maxScore: score.maxScore,
                attempts: score.attempts,
                lastUpdatedOn: new Date(score.at).toISOString(),
              })),
            lastUpdatedOn: member.enrolment.updatedAt.toISOString(),
          },
  })),
  nextCursor: next === null ? null : encodeMemberCursor(next),
});

export const encodeMemberCursor = (cursor: MemberCursor): string =>
  Buffer.from(JSON.stringify([cursor.value, cursor.userId]), 'utf8').toString('base64url');

/** A cursor the hub handed out for this listing; 400 INVALID_CURSOR for anything else. */
export const decodeMemberCursor = (cursor: string): MemberCursor => {
  const invalid = () =>
    new InvalidInputError(
      'The cursor is not one the hub handed out',
      [{ field: 'cursor', message: 'use nextCursor of the previous page' }],
      'INVALID_CURSOR',
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    !(parsed[0] === null || (typeof parsed[0] === 'number' && Number.isFinite(parsed[0]))) ||
    typeof parsed[1] !== 'string'
  )
    throw invalid();
  return { value: parsed[0] as number | null, userId: parsed[1] };
};
