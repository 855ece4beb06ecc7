import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { PageLimit } from '../http/query-params';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import {
  GROUP_MEMBER_ROLES,
  GROUP_MEMBER_STATUSES,
  MAX_GROUP_ACTIVITIES,
  MAX_GROUP_MEMBERS,
  GroupState,
} from './group.decider';
import { GroupMemberRole, GroupMemberStatus } from './group.events';

/** What the groups service calls an activity's kind, e.g. Course. */
export const ACTIVITY_TYPE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const ACTIVITY_TYPE_RULE =
  '1-64 characters: letters, digits, _ and -, starting with a letter (e.g. Course)';

export class GroupMembershipRequest {
  @ApiPropertyOptional({ enum: GROUP_MEMBER_ROLES, default: 'member' })
  @IsOptional()
  @IsIn(GROUP_MEMBER_ROLES, { message: 'role must be admin or member' })
  role?: GroupMemberRole;

  @ApiPropertyOptional({ enum: GROUP_MEMBER_STATUSES, default: 'active' })
  @IsOptional()
  @IsIn(GROUP_MEMBER_STATUSES, { message: 'status must be active or inactive' })
  status?: GroupMemberStatus;
}

export class GroupMemberRequest extends GroupMembershipRequest {
  @ApiProperty({ example: 'lea' })
  @Matches(IDENTIFIER, { message: `userId must be ${IDENTIFIER_RULE}` })
  userId!: string;
}

export class GroupActivityTypeRequest {
  @ApiProperty({ example: 'Course', maxLength: 64 })
  @IsString()
  @Matches(ACTIVITY_TYPE, { message: `activityType must be ${ACTIVITY_TYPE_RULE}` })
  activityType!: string;
}

export class GroupActivityRequest extends GroupActivityTypeRequest {
  @ApiProperty({ example: 'do_2134' })
  @Matches(IDENTIFIER, { message: `activityId must be ${IDENTIFIER_RULE}` })
  activityId!: string;
}

export class PutGroupRequest {
  @ApiPropertyOptional({
    description:
      'The group’s organisation. Required of a system admin for a new group; an organisation admin’s default is their own. A group never moves to another organisation.',
  })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisationId must be ${IDENTIFIER_RULE}` })
  organisationId?: string;

  @ApiProperty({ example: 'Grade 5, section B', maxLength: 300 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(300)
  name!: string;

  @ApiPropertyOptional({ maxLength: 2000, description: 'None when not given' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiProperty({
    type: [GroupMemberRequest],
    maxItems: MAX_GROUP_MEMBERS,
    description: 'Every member, each once: whoever is not listed is removed',
  })
  @IsArray()
  @ArrayMaxSize(MAX_GROUP_MEMBERS)
  @ValidateNested({ each: true })
  @Type(() => GroupMemberRequest)
  members!: GroupMemberRequest[];

  @ApiProperty({
    type: [GroupActivityRequest],
    maxItems: MAX_GROUP_ACTIVITIES,
    description: 'Every activity, each once: whatever is not listed is removed',
  })
  @IsArray()
  @ArrayMaxSize(MAX_GROUP_ACTIVITIES)
  @ValidateNested({ each: true })
  @Type(() => GroupActivityRequest)
  activities!: GroupActivityRequest[];
}

export class ListGroupsQuery {
  @ApiPropertyOptional({
    description: 'Only groups with this member; anyone but an admin must name themself',
  })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `member must be ${IDENTIFIER_RULE}` })
  member?: string;

  @ApiPropertyOptional({
    description: 'Only this organisation’s groups (system admins; others see their own only)',
  })
  @IsOptional()
  @Matches(IDENTIFIER, { message: `organisation must be ${IDENTIFIER_RULE}` })
  organisation?: string;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(300)
  cursor?: string;

  @PageLimit(50, 200)
  limit?: number;
}

export class GroupMemberView {
  @ApiProperty() userId!: string;
  @ApiProperty({ enum: GROUP_MEMBER_ROLES }) role!: GroupMemberRole;
  @ApiProperty({ enum: GROUP_MEMBER_STATUSES }) status!: GroupMemberStatus;
}

export class GroupActivityView {
  @ApiProperty() activityId!: string;
  @ApiProperty() activityType!: string;
}

export class GroupView {
  @ApiProperty() groupId!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ type: [GroupMemberView], description: 'By userId' })
  members!: GroupMemberView[];
  @ApiProperty({ type: [GroupActivityView], description: 'By activityId' })
  activities!: GroupActivityView[];
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A group as the API shows it: members by userId, activities by activityId. */
export const groupView = (state: GroupState): GroupView => ({
  groupId: state.groupId,
  organisationId: state.organisationId,
  name: state.name,
  description: state.description,
  members: [...state.members]
    .map(([userId, { role, status }]) => ({ userId, role, status }))
    .sort((a, b) => byId(a.userId, b.userId)),
  activities: [...state.activities]
    .map(([activityId, activityType]) => ({ activityId, activityType }))
    .sort((a, b) => byId(a.activityId, b.activityId)),
});

export class GroupSummaryView {
  @ApiProperty() groupId!: string;
  @ApiProperty() organisationId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ description: 'Members of any role and status' }) memberCount!: number;
  @ApiProperty() activityCount!: number;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class GroupPage {
  @ApiProperty({ type: [GroupSummaryView] }) groups!: GroupSummaryView[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
