import { Inject } from '@nestjs/common';
import { Command, CommandHandler, ICommandHandler } from '@nestjs/cqrs';
import { PROGRAMS_READ_MODEL } from '../../projections/programs/programs.query';
import { ProjectionEngine } from '../../projections/engine/projection-engine.service';
import { actorOf, Principal } from '../auth/principal';
import { handleCommand } from '../event-sourcing/command-handler';
import { actorMetadata } from '../event-sourcing/event-metadata';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { CLOCK, Clock } from '../time/clock';
import { ProgramCommand, programDecider, ProgramState } from './program.decider';
import { programStream } from './program.events';
import { RegisterProgramRequest, UpdateProgramRequest } from './programs.dto';

export class RegisterProgramCommand extends Command<ProgramOutcome> {
  constructor(
    readonly request: RegisterProgramRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export class UpdateProgramCommand extends Command<ProgramOutcome> {
  constructor(
    readonly programId: string,
    readonly request: UpdateProgramRequest,
    readonly principal: Principal,
    readonly requestId: string,
  ) {
    super();
  }
}

export interface ProgramOutcome {
  state: ProgramState;
  /** False when the command changed nothing (a retried registration). */
  changed: boolean;
}

abstract class ProgramCommandHandler {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    private readonly projections: ProjectionEngine,
  ) {}

  protected async run(
    programId: string,
    command: ProgramCommand,
    principal: Principal,
    requestId: string,
  ): Promise<ProgramOutcome> {
    const outcome = await handleCommand(
      this.store,
      programStream(programId),
      programDecider,
      command,
      {
        metadata: actorMetadata(actorOf(principal), requestId),
      },
    );
    // Read-your-writes: the program shows in the list once this returns.
    if (outcome.appended)
      await this.projections.awaitApplied(PROGRAMS_READ_MODEL, outcome.appended.position);
    return { state: outcome.state, changed: outcome.appended !== null };
  }
}

@CommandHandler(RegisterProgramCommand)
export class RegisterProgramHandler
  extends ProgramCommandHandler
  implements ICommandHandler<RegisterProgramCommand, ProgramOutcome>
{
  execute({ request, principal, requestId }: RegisterProgramCommand): Promise<ProgramOutcome> {
    return this.run(
      request.programId,
      {
        type: 'RegisterProgram',
        programId: request.programId,
        organisationId: request.organisationId ?? principal.organisationId,
        name: request.name,
        description: request.description ?? null,
        actor: actorOf(principal),
        now: this.clock.now(),
      },
      principal,
      requestId,
    );
  }
}

@CommandHandler(UpdateProgramCommand)
export class UpdateProgramHandler
  extends ProgramCommandHandler
  implements ICommandHandler<UpdateProgramCommand, ProgramOutcome>
{
  execute({ programId, request, principal, requestId }: UpdateProgramCommand) {
    return this.run(
      programId,
      {
        type: 'UpdateProgram',
        programId,
        ...(request.name === undefined ? {} : { name: request.name }),
        ...(request.description === undefined ? {} : { description: request.description }),
        actor: actorOf(principal),
        now: this.clock.now(),
      },
      principal,
      requestId,
    );
  }
}
