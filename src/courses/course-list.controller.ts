import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { listCourses } from '../../projections/courses/courses.query';
import { CurrentPrincipal } from '../auth/auth.guard';
import { isSystemAdmin, Principal } from '../auth/principal';
import { SQL_DATABASE, SqlDatabase } from '../database/sql-database';
import { ApiProblems } from '../errors/api-problems';
import { decodeIdCursor, encodeIdCursor } from '../http/id-cursor';
import { CoursePage, ListCoursesQuery } from './courses.dto';

@ApiTags('courses')
@ApiBearerAuth()
@Controller('v1/courses')
export class CourseListController {
  constructor(@Inject(SQL_DATABASE) private readonly db: SqlDatabase) {}

  @Get()
  @ApiOperation({
    summary:
      'Courses of the caller’s organisation (system admins: all, or one organisation’s), by creator and name, one page at a time',
  })
  @ApiOkResponse({ type: CoursePage })
  @ApiProblems({ 400: ['INVALID_CURSOR'] })
  async list(
    @Query() query: ListCoursesQuery,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CoursePage> {
    const limit = query.limit ?? 50;
    const after = query.cursor === undefined ? undefined : decodeIdCursor(query.cursor);
    // Another organisation's courses are not there for anyone but a system admin.
    const organisationId = isSystemAdmin(principal)
      ? (query.organisationId ?? null)
      : principal.organisationId;
    const rows =
      query.organisationId !== undefined && query.organisationId !== organisationId
        ? []
        : await listCourses(this.db, {
            organisationId,
            ...(query.createdBy === undefined ? {} : { createdBy: query.createdBy }),
            ...(query.q === undefined ? {} : { nameContains: query.q }),
            ...(after === undefined ? {} : { after }),
            limit: limit + 1,
          });
    const items = rows.slice(0, limit).map((row) => ({
      courseId: row.courseId,
      name: row.name,
      organisationId: row.organisationId,
      createdBy: row.createdBy,
      hierarchyVersion: row.hierarchyVersion,
      requiredContentCount: row.requiredContentCount,
      registeredAt: row.registeredAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    }));
    const last = items.at(-1);
    return {
      items,
      nextCursor: rows.length > limit && last ? encodeIdCursor(last.courseId) : null,
    };
  }
}
