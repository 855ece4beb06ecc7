import { Module } from '@nestjs/common';
import { ProjectionEngine } from './projection-engine.service';
import { PROJECTIONS, projections } from './registry';

@Module({
  providers: [{ provide: PROJECTIONS, useValue: projections }, ProjectionEngine],
  exports: [ProjectionEngine],
})
export class ProjectionsModule {}
