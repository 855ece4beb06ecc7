import { Global, Module } from '@nestjs/common';
import { ProjectionEngine } from './projection-engine.service';
import { PROJECTIONS, projections } from './registry';

@Global()
@Module({
  providers: [{ provide: PROJECTIONS, useValue: projections }, ProjectionEngine],
  exports: [ProjectionEngine],
})
export class ProjectionsModule {}
