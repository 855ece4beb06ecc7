import { Inject, Injectable } from '@nestjs/common';
import { loadState } from '../event-sourcing/command-handler';
import { RecentStates } from '../event-sourcing/recent-states';
import { EVENT_STORE, EventStore } from '../event-store/event-store.port';
import { programDecider, ProgramFacts, programFacts, ProgramState } from './program.decider';
import { ProgramEvent, programStream } from './program.events';

const PROGRAMS_KEPT = 10_000;
// A program's owner never changes; a rename may show this much later in lookups.
const FRESHNESS_MS = 1_000;

/** Who owns a program: looked up for every publish, so recent answers are reused. */
@Injectable()
export class ProgramDirectory {
  private readonly recent: RecentStates<ProgramEvent, ProgramState>;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {
    this.recent = new RecentStates(store, programDecider, PROGRAMS_KEPT, FRESHNESS_MS);
  }

  async program(programId: string): Promise<ProgramFacts | null> {
    const known = programFacts(await this.recent.get(programStream(programId)));
    if (known) return known;
    // Not yet registered when last looked at: it may have been a moment ago, on any instance.
    const { state } = await loadState(this.store, programStream(programId), programDecider);
    return programFacts(state);
  }
}
