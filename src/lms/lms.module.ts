import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { LmsBackends } from './lms-backends';
import { LmsLearners } from './lms-learners';
import { LmsMirror } from './lms-mirror';
import { LmsReconcileJob } from './lms-reconcile';
import { LmsController } from './lms.controller';

/** Mirrors enrolments to external LMSs (LMS_BACKENDS): the process manager, its API and jobs. */
@Module({
  imports: [UsersModule],
  controllers: [LmsController],
  providers: [LmsBackends, LmsLearners, LmsMirror, LmsReconcileJob],
  exports: [LmsMirror],
})
export class LmsModule {}
