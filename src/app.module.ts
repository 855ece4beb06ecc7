import { DynamicModule, Module, Type } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ProjectionsModule } from '../projections/projections.module';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { BatchesModule } from './batches/batches.module';
import { HUB_CONFIG, HubConfig } from './config/hub-config';
import { ConsentsModule } from './consents/consents.module';
import { CoursesModule } from './courses/courses.module';
import { EnrolmentsModule } from './enrolments/enrolments.module';
import { ExhaustsModule } from './exhausts/exhausts.module';
import { GroupsModule } from './groups/groups.module';
import { StorageModule } from './event-store/storage.module';
import { HealthModule } from './health/health.module';
import { JobsModule } from './jobs/jobs.module';
import { LmsModule } from './lms/lms.module';
import { MeModule } from './me/me.module';
import { MetricsModule } from './metrics/metrics.module';
import { ProgramsModule } from './programs/programs.module';
import { PublishingModule } from './publishing/publishing.module';
import { SubscriptionsModule } from './subscriptions/subscriptions.module';
import { CLOCK, Clock, systemClock } from './time/clock';
import { UsersModule } from './users/users.module';

/**
 * The hub. @nestjs/cqrs only dispatches commands and queries in process; events are stored and
 * projected through the event store and the projection engine, never its in-memory EventBus.
 */
@Module({})
export class AppModule {
  static forRoot(
    config: HubConfig,
    extraModules: Type[] = [],
    clock: Clock = systemClock,
  ): DynamicModule {
    return {
      module: AppModule,
      global: true,
      imports: [
        CqrsModule.forRoot(),
        MetricsModule,
        StorageModule,
        JobsModule,
        ProjectionsModule,
        AuthModule,
        HealthModule,
        ApiKeysModule,
        UsersModule,
        MeModule,
        CoursesModule,
        BatchesModule,
        ConsentsModule,
        GroupsModule,
        EnrolmentsModule,
        ExhaustsModule,
        LmsModule,
        ProgramsModule,
        PublishingModule,
        SubscriptionsModule,
        ...extraModules,
      ],
      providers: [
        { provide: HUB_CONFIG, useValue: config },
        { provide: CLOCK, useValue: clock },
      ],
      exports: [HUB_CONFIG, CLOCK],
    };
  }
}
