import { parseArgs } from 'node:util';
import { isRole, Role, ROLES } from '../auth/principal';
import { loadConfig } from '../config/hub-config';
import { InvalidInputError } from '../errors/hub-error';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';
import { ApiKeys, hubApiKeys, KeyRequest, withStoreApiKeys } from './api-keys-backends';
import { localHub, withStorage } from './hub-access';

export const API_KEYS_USAGE = `  npm run hub -- api-keys create --principal <id> --org <id> --roles ROLE[,ROLE] [--label <text>]
                                           issue a key; prints its token once
  npm run hub -- api-keys list [--org <id>] [--revoked]
  npm run hub -- api-keys revoke <keyId>

Roles: ${ROLES.join(', ')}`;

type Action =
  | { kind: 'create'; request: KeyRequest }
  | { kind: 'list'; org: string | undefined; revoked: boolean }
  | { kind: 'revoke'; keyId: string };

/**
 * `npm run hub -- api-keys …`, as a system admin: through the hub that holds the embedded
 * DATA_DIR when one does, else with the store itself. Returns the exit code.
 */
export const runApiKeysCommand = async (
  argv: readonly string[],
  print: (line: string) => void,
): Promise<number> => {
  const action = parseAction(argv);
  const config = loadConfig();
  const hub = await localHub(config);
  if (hub) await perform(action, hubApiKeys(hub.client), print);
  else
    await withStorage(config, (_db, store) =>
      withStoreApiKeys(store, (keys) => perform(action, keys, print)),
    );
  return 0;
};

const parseAction = (argv: readonly string[]): Action => {
  const [command, ...rest] = argv;
  const { values, positionals } = parseOptions(rest);
  switch (command ?? '') {
    case 'create':
      return {
        kind: 'create',
        request: {
          principalId: identifier(values.principal, 'principal'),
          organisationId: identifier(values.org, 'org'),
          roles: roles(values.roles),
          label: values.label ?? '',
        },
      };
    case 'list':
      return { kind: 'list', org: values.org, revoked: values.revoked ?? false };
    case 'revoke':
      return { kind: 'revoke', keyId: identifier(positionals[0], 'keyId') };
    default:
      throw new InvalidInputError(
        `Unknown api-keys command "${command ?? ''}": use create, list or revoke (npm run hub -- help).`,
      );
  }
};

const parseOptions = (args: string[]) => {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      options: {
        principal: { type: 'string' },
        org: { type: 'string' },
        roles: { type: 'string' },
        label: { type: 'string' },
        revoked: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new InvalidInputError((error as Error).message);
  }
};

const identifier = (value: string | undefined, name: string): string => {
  if (value === undefined || !IDENTIFIER.test(value))
    throw new InvalidInputError(`--${name} must be ${IDENTIFIER_RULE}`);
  return value;
};

const roles = (value: string | undefined): Role[] => {
  const named = (value ?? '').split(',').map((role) => role.trim().toUpperCase());
  if (named.length === 0 || !named.every(isRole))
    throw new InvalidInputError(
      `--roles must list roles from ${ROLES.join(', ')}; got ${value ?? 'none'}`,
    );
  return named;
};

const perform = async (action: Action, keys: ApiKeys, print: (line: string) => void) => {
  switch (action.kind) {
    case 'create': {
      print(JSON.stringify(await keys.issue(action.request), null, 2));
      print('\nThe token is shown only now. Send it as "Authorization: Bearer <token>".');
      return;
    }
    case 'list': {
      const rows = (await keys.list()).filter(
        (row) =>
          (action.revoked || row.revokedAt === '') &&
          (!action.org || row.organisation === action.org),
      );
      console.table(rows);
      return;
    }
    case 'revoke': {
      const revoked = await keys.revoke(action.keyId);
      print(revoked ? `Revoked ${action.keyId}` : `${action.keyId} was already revoked`);
      return;
    }
    default: {
      const unknownAction: never = action;
      return unknownAction;
    }
  }
};
