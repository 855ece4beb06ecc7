import { Decider } from '../../src/event-sourcing/decider';
import { RuleViolatedError } from '../../src/errors/hub-error';
import { TallyEvent } from './tally.events';

/** The example domain's decider, used to exercise the generic command handler. */
export type TallyCommand =
  | { type: 'OpenTally'; tallyId: string; name: string; now: string }
  | { type: 'IncrementTally'; tallyId: string; by: number; now: string }
  | { type: 'CloseTally'; tallyId: string; now: string };

export type TallyState =
  { status: 'none' } | { status: 'open'; total: number } | { status: 'closed'; total: number };

export const tallyDecider: Decider<TallyCommand, TallyEvent, TallyState> = {
  initialState: () => ({ status: 'none' }),
  decide: (command, state) => {
    switch (command.type) {
      case 'OpenTally':
        if (state.status !== 'none') return [];
        return [
          {
            type: 'TallyOpened',
            data: { tallyId: command.tallyId, name: command.name, openedAt: command.now },
          },
        ];
      case 'IncrementTally':
        if (state.status !== 'open')
          throw new RuleViolatedError(
            'COURSE_BATCH_ALREADY_COMPLETED',
            `Tally ${command.tallyId} is not open`,
          );
        return [
          {
            type: 'TallyIncremented',
            data: { tallyId: command.tallyId, by: command.by, at: command.now },
          },
        ];
      case 'CloseTally':
        if (state.status === 'closed') return [];
        if (state.status === 'none')
          throw new RuleViolatedError(
            'COURSE_BATCH_ALREADY_COMPLETED',
            `Tally ${command.tallyId} is not open`,
          );
        return [{ type: 'TallyClosed', data: { tallyId: command.tallyId, closedAt: command.now } }];
      default: {
        const unknownCommand: never = command;
        throw new Error(`Unknown command ${JSON.stringify(unknownCommand)}`);
      }
    }
  },
  evolve: (state, event) => {
    switch (event.type) {
      case 'TallyOpened':
        return { status: 'open', total: 0 };
      case 'TallyIncremented':
        return state.status === 'open'
          ? { status: 'open', total: state.total + event.data.by }
          : state;
      case 'TallyClosed':
        return { status: 'closed', total: state.status === 'none' ? 0 : state.total };
      default: {
        const unknownEvent: never = event;
        return unknownEvent;
      }
    }
  },
};
