import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { COURSES_READ_MODEL } from '../../projections/courses/courses.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { actorOf, Principal } from '../auth/principal';
import { CommandOutcome, handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { CourseCommand, courseDecider, CourseState } from './course.decider';
import { CourseEvent, courseStream } from './course.events';
import {
  CourseHierarchyRequest,
  CourseLmsResourceLinkRequest,
  isTrackable,
  RegisterCourseRequest,
  toCourseNodes,
} from './courses.dto';

export type CourseOutcome = CommandOutcome<CourseEvent, CourseState>;

export class RegisterCourseCommand extends Command<CourseOutcome> {
  constructor(
    readonly request: RegisterCourseRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class UpdateCourseHierarchyCommand extends Command<CourseOutcome> {
  constructor(
    readonly courseId: string,
    readonly request: CourseHierarchyRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class SetCourseLmsResourceLinkCommand extends Command<CourseOutcome> {
  constructor(
    readonly courseId: string,
    readonly request: CourseLmsResourceLinkRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

abstract class CourseCommandHandler {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    private readonly projections: ProjectionEngine,
  ) {}

  /** Decides on the course's stream; answers once the course list shows the change. */
  protected async run(
    command: CourseCommand,
    principal: Principal,
    requestId: string,
  ): Promise<CourseOutcome> {
    const outcome = await handleCommand(
      this.store,
      courseStream(command.courseId),
      courseDecider,
      command,
      { metadata: actorMetadata(actorOf(principal), requestId) },
    );
    if (outcome.appended)
      await this.projections.awaitApplied(COURSES_READ_MODEL, outcome.appended.position);
    return outcome;
  }
}

@CommandHandler(RegisterCourseCommand)
export class RegisterCourseHandler
  extends CourseCommandHandler
  implements ICommandHandler<RegisterCourseCommand, CourseOutcome>
{
  execute({ request, principal, requestId }: RegisterCourseCommand): Promise<CourseOutcome> {
    return this.run(
      {
        type: 'RegisterCourse',
        courseId: request.courseId,
        name: request.name,
        organisationId: request.organisationId ?? principal.organisationId,
        trackable: isTrackable(request.trackable),
        children: toCourseNodes(request.children),
        userConsent: request.userConsent ?? false,
        lmsResourceLink: request.lmsResourceLink ?? null,
        actor: actorOf(principal),
        now: this.clock.now(),
      },
      principal,
      requestId,
    );
  }
}

@CommandHandler(UpdateCourseHierarchyCommand)
export class UpdateCourseHierarchyHandler
  extends CourseCommandHandler
  implements ICommandHandler<UpdateCourseHierarchyCommand, CourseOutcome>
{
  execute({
    courseId,
    request,
    principal,
    requestId,
  }: UpdateCourseHierarchyCommand): Promise<CourseOutcome> {
    return this.run(
      {
        type: 'UpdateCourseHierarchy',
        courseId,
        children: toCourseNodes(request.children),
        actor: actorOf(principal),
        now: this.clock.now(),
      },
      principal,
      requestId,
    );
  }
}

@CommandHandler(SetCourseLmsResourceLinkCommand)
export class SetCourseLmsResourceLinkHandler
  extends CourseCommandHandler
  implements ICommandHandler<SetCourseLmsResourceLinkCommand, CourseOutcome>
{
  execute({
    courseId,
    request,
    principal,
    requestId,
  }: SetCourseLmsResourceLinkCommand): Promise<CourseOutcome> {
    return this.run(
      {
        type: 'SetCourseLmsResourceLink',
        courseId,
        lmsResourceLink: request.lmsResourceLink,
        actor: actorOf(principal),
        now: this.clock.now(),
      },
      principal,
      requestId,
    );
  }
}
