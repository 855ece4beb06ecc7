import { Body, Controller, Get, Inject, Post, Put, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { countBatchesByStatus } from '../../projections/batch-status/batch-status.query';
import { ApiProblems } from '../errors/api-problems';
import { CurrentPrincipal } from '../auth/auth.guard';
import { canSeeOrganisation, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { loadState } from '../event-sourcing/command-handler';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { IdParam, RequestId } from '../http/request-context';
import { leavesOf } from './course.events';
import { courseDecider, courseNotFound, CourseState } from './course.decider';
import { courseStream } from './course.events';
import {
  RegisterCourseCommand,
  SetCourseLmsResourceLinkCommand,
  UpdateCourseHierarchyCommand,
} from './courses.commands';
import {
  CourseHierarchyRequest,
  CourseLmsResourceLinkRequest,
  CourseView,
  RegisterCourseRequest,
} from './courses.dto';

@ApiTags('courses')
@ApiBearerAuth()
@Controller('v1/courses')
export class CoursesController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(SQL_DATABASE) private readonly db: SqlDatabase,
    private readonly commands: CommandBus,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Register a trackable collection as a course (content creators, admins)',
  })
  @ApiCreatedResponse({ type: CourseView })
  @ApiProblems({
    400: ['COLLECTION_NOT_TRACKABLE', 'INVALID_HIERARCHY'],
    403: ['UNAUTHORIZED_USER'],
    404: ['COURSE_NOT_FOUND'],
    409: ['COURSE_ALREADY_EXISTS'],
  })
  async register(
    @Body() body: RegisterCourseRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CourseView> {
    const outcome = await this.commands.execute(
      new RegisterCourseCommand(body, principal, requestId),
    );
    void reply.header('location', `/v1/courses/${body.courseId}`);
    return this.view(
      outcome.state,
      outcome.appended?.nextExpectedRevision ?? null,
      principal,
      reply,
    );
  }

  @Put(':courseId/hierarchy')
  @ApiOperation({ summary: 'Replace the hierarchy with a new version (creator or admin)' })
  @ApiOkResponse({ type: CourseView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'INVALID_HIERARCHY'],
    403: ['UNAUTHORIZED_USER'],
    404: ['COURSE_NOT_FOUND'],
  })
  async updateHierarchy(
    @IdParam('courseId') courseId: string,
    @Body() body: CourseHierarchyRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CourseView> {
    await this.commands.execute(
      new UpdateCourseHierarchyCommand(courseId, body, principal, requestId),
    );
    return this.get(courseId, principal, reply);
  }

  @Put(':courseId/lms-resource-link')
  @ApiOperation({
    summary: 'Set or clear the LMS course run the course’s enrolments mirror to (creator or admin)',
  })
  @ApiOkResponse({ type: CourseView })
  @ApiProblems({
    400: ['INVALID_IDENTIFIER', 'VALIDATION_FAILED'],
    403: ['UNAUTHORIZED_USER'],
    404: ['COURSE_NOT_FOUND'],
  })
  async setLmsResourceLink(
    @IdParam('courseId') courseId: string,
    @Body() body: CourseLmsResourceLinkRequest,
    @CurrentPrincipal() principal: Principal,
    @RequestId() requestId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CourseView> {
    await this.commands.execute(
      new SetCourseLmsResourceLinkCommand(courseId, body, principal, requestId),
    );
    return this.get(courseId, principal, reply);
  }

  @Get(':courseId')
  @ApiOperation({ summary: 'A course with its current hierarchy and its batches per status' })
  @ApiOkResponse({ type: CourseView })
  @ApiProblems({ 400: ['INVALID_IDENTIFIER'], 404: ['COURSE_NOT_FOUND'] })
  async get(
    @IdParam('courseId') courseId: string,
    @CurrentPrincipal() principal: Principal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CourseView> {
    const { state, revision } = await loadState(this.store, courseStream(courseId), courseDecider);
    return this.view(state, revision, principal, reply, courseId);
  }

  private async view(
    state: CourseState,
    revision: bigint | null,
    principal: Principal,
    reply: FastifyReply,
    courseId = '',
  ): Promise<CourseView> {
    if (!state.exists || !canSeeOrganisation(principal, state.organisationId))
      throw courseNotFound(courseId);
    if (revision !== null) void reply.header('etag', `"${revision.toString()}"`);
    const [counts] = await countBatchesByStatus(this.db, principal, state.courseId);
    return {
      courseId: state.courseId,
      name: state.name,
      organisationId: state.organisationId,
      createdBy: state.createdBy,
      hierarchyVersion: state.hierarchyVersion,
      children: state.children,
      requiredContentCount: leavesOf(state.children).filter((leaf) => !leaf.optional).length,
      registeredAt: state.registeredAt,
      updatedAt: state.updatedAt,
      userConsent: state.userConsent,
      lmsResourceLink: state.lmsResourceLink,
      batchCounts: {
        upcoming: counts?.upcoming ?? 0,
        inProgress: counts?.inProgress ?? 0,
        ended: counts?.ended ?? 0,
      },
    };
  }
}
