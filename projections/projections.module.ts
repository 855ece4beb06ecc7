import { Global, Module } from '@nestjs/common';
import { PROJECTIONS, ProjectionEngine } from './engine/projection-engine.service';
import { projections } from './registry';

@Global()
@Module({
  providers: [{ provide: PROJECTIONS, useValue: projections }, ProjectionEngine],
  exports: [ProjectionEngine],
})
export class ProjectionsModule {}
