import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import {
  projectionStatusView,
  ProjectionStatusView,
} from '../../projections/engine/projection-status';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { RequireRoles } from '../auth/auth.guard';
import { ApiProblems } from '../errors/api-problems';
import { HubError } from '../errors/hub-error';

class ProjectionFailureView {
  @ApiProperty() error!: string;
  @ApiProperty({ description: 'When the failures in a row began' }) since!: string;
  @ApiProperty({ description: 'Attempts that failed in a row' }) attempts!: number;
}

class ProjectionStatusItem implements ProjectionStatusView {
  @ApiProperty() projection!: string;
  @ApiProperty() version!: number;
  @ApiProperty() eventsApplied!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'null when the store cannot count' })
  eventsBehind!: number | null;
  @ApiProperty({ description: 'Age of the oldest event not applied yet; 0 when caught up' })
  secondsBehind!: number;
  @ApiProperty({ nullable: true, type: String }) updatedAt!: string | null;
  @ApiProperty({ nullable: true, type: ProjectionFailureView })
  failure!: ProjectionFailureView | null;
}

class ProjectionStatusList {
  @ApiProperty({ type: [ProjectionStatusItem] }) items!: ProjectionStatusItem[];
}

/** What `npm run projections -- status` shows, for a hub that holds the embedded DATA_DIR. */
@ApiTags('admin')
@ApiBearerAuth()
@RequireRoles('SYSTEM_ADMIN')
@Controller('v1/admin/projections')
export class ProjectionsController {
  constructor(private readonly projections: ProjectionEngine) {}

  @Get()
  @ApiOperation({
    summary: 'Every projection’s checkpoint, lag and failure, from the stored checkpoints',
  })
  @ApiOkResponse({ type: ProjectionStatusList })
  @ApiProblems({ 403: ['MISSING_ROLE'], 503: ['PROJECTION_STATUS_UNAVAILABLE'] })
  async list(): Promise<ProjectionStatusList> {
    const reports = await this.projections.report();
    return {
      items: reports.map(({ projection, lag, lagError }) => {
        if (!lag)
          throw new HubError(
            'unavailable',
            'PROJECTION_STATUS_UNAVAILABLE',
            `${projection}: ${lagError}`,
          );
        return projectionStatusView(lag);
      }),
    };
  }
}
