import { Decider, DomainEvent } from '../../src/event-sourcing/decider';

/**
 * Given events / when command / then events or then error, for any decider:
 *   spec.given([opened]).when(increment).then([incremented])
 */
export const deciderSpecification = <Command, Event extends DomainEvent, State>(
  decider: Decider<Command, Event, State>,
) => ({
  given: (events: readonly Event[]) => ({
    when: (command: Command) => {
      const run = () =>
        decider.decide(command, events.reduce(decider.evolve, decider.initialState()));
      return {
        then: (expected: readonly Event[]) => expect(run()).toEqual(expected),
        thenNothingHappens: () => expect(run()).toEqual([]),
        thenThrows: (
          errorType: new (...args: never[]) => Error,
          matching: Record<string, unknown> = {},
        ) => {
          let thrown: unknown;
          try {
            run();
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(errorType);
          expect(thrown).toMatchObject(matching);
        },
      };
    },
  }),
});
