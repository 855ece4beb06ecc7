import { parseArgs } from 'node:util';
import { apiKeyDecider, ApiKeyState } from '../api-keys/api-key.decider';
import { API_KEY_STREAM_PREFIX, ApiKeyEvent } from '../api-keys/api-key.events';
import { issueApiKey, revokeApiKey } from '../api-keys/api-keys.operations';
import { Actor, isRole, Role, ROLES } from '../auth/principal';
import { InvalidInputError } from '../errors/hub-error';
import { EventStore, Position, START } from '../event-store/event-store.port';
import { IDENTIFIER, IDENTIFIER_RULE } from '../http/request-context';

export const API_KEYS_USAGE = `  npm run hub -- api-keys create --principal <id> --org <id> --roles ROLE[,ROLE] [--label <text>]
                                           issue a key; prints its token once
  npm run hub -- api-keys list [--org <id>] [--revoked]
  npm run hub -- api-keys revoke <keyId>

Roles: ${ROLES.join(', ')}`;

// Whoever can run the CLI holds the database credentials: it acts as a system admin.
const OPERATOR: Actor = {
  userId: 'cli:operator',
  organisationId: 'system',
  roles: ['SYSTEM_ADMIN'],
};

const identifier = (value: string | undefined, name: string): string => {
  if (value === undefined || !IDENTIFIER.test(value))
    throw new InvalidInputError(`--${name} must be ${IDENTIFIER_RULE}`);
  return value;
};

export const runApiKeysCommand = async (
  store: EventStore,
  argv: string[],
  print: (line: string) => void,
): Promise<void> => {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      principal: { type: 'string' },
      org: { type: 'string' },
      roles: { type: 'string' },
      label: { type: 'string' },
      revoked: { type: 'boolean' },
    },
  });
  switch (command ?? '') {
    case 'create': {
      const roles = (values.roles ?? '').split(',').map((role) => role.trim().toUpperCase());
      const unknown = roles.filter((role) => !isRole(role));
      if (roles.length === 0 || unknown.length > 0)
        throw new InvalidInputError(
          `--roles must list roles from ${ROLES.join(', ')}; got ${values.roles ?? 'none'}`,
        );
      const issued = await issueApiKey(
        store,
        {
          principalId: identifier(values.principal, 'principal'),
          organisationId: identifier(values.org, 'org'),
          roles: roles as Role[],
          label: values.label ?? '',
        },
        OPERATOR,
        new Date(),
      );
      const { appended: _appended, ...shown } = issued;
      print(JSON.stringify(shown, null, 2));
      print('\nThe token is shown only now. Send it as "Authorization: Bearer <token>".');
      return;
    }
    case 'list': {
      const keys = await allKeys(store);
      const rows = [];
      for (const state of keys.values()) {
        if (state.status === 'none') continue;
        if (state.status === 'revoked' && !values.revoked) continue;
        if (values.org && state.key.organisationId !== values.org) continue;
        rows.push({
          keyId: state.key.keyId,
          principal: state.key.principalId,
          organisation: state.key.organisationId,
          roles: state.key.roles.join(','),
          label: state.key.label,
          issuedAt: state.key.issuedAt,
          revokedAt: state.revokedAt ?? '',
        });
      }
      console.table(rows);
      return;
    }
    case 'revoke': {
      const keyId = identifier(positionals[0], 'keyId');
      const appended = await revokeApiKey(store, keyId, OPERATOR, new Date());
      print(appended ? `Revoked ${keyId}` : `${keyId} was already revoked`);
      return;
    }
    default:
      throw new InvalidInputError(
        `Unknown api-keys command "${command ?? ''}".\n\n${API_KEYS_USAGE}`,
      );
  }
};

/** Folds every key stream from the log: the CLI works whether or not a hub has projected them. */
const allKeys = async (store: EventStore): Promise<Map<string, ApiKeyState>> => {
  const keys = new Map<string, ApiKeyState>();
  let from: Position | typeof START = START;
  for (;;) {
    const page = await store.readAll({
      from,
      maxCount: 1_000,
      filter: { streamNamePrefixes: [API_KEY_STREAM_PREFIX] },
    });
    for (const event of page) {
      const current = keys.get(event.stream) ?? apiKeyDecider.initialState();
      keys.set(
        event.stream,
        apiKeyDecider.evolve(current, { type: event.type, data: event.data } as ApiKeyEvent),
      );
    }
    const last = page.at(-1);
    if (!last || page.length < 1_000) return keys;
    from = last.position;
  }
};
