/**
 * Write models are deciders: pure functions over typed unions. `decide` never reads the clock,
 * generates ids or looks anything up: whatever it needs arrives with the command.
 */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

export interface Decider<Command, Event extends DomainEvent, State> {
  initialState: () => State;
  /** Returns the events the command causes; throws a HubError when the state refuses it. */
  decide: (command: Command, state: State) => Event[];
  evolve: (state: State, event: Event) => State;
}

export const fold = <Event extends DomainEvent, State>(
  decider: Pick<Decider<unknown, Event, State>, 'initialState' | 'evolve'>,
  events: readonly Event[],
): State => events.reduce(decider.evolve, decider.initialState());
