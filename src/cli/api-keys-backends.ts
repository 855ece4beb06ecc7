import { apiKeyDecider, ApiKeyState } from '../api-keys/api-key.decider';
import { API_KEY_STREAM_PREFIX, ApiKeyEvent } from '../api-keys/api-key.events';
import type { ApiKeyPage, IssuedApiKeyView } from '../api-keys/api-keys.dto';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import {
  ApiKeyCommandsModule,
  IssueApiKeyCommand,
  RevokeApiKeyCommand,
} from '../api-keys/api-keys.commands';
import { CLI_OPERATOR, Role } from '../auth/principal';
import { EventStore, Position, START } from '../event-store/event-store.port';
import { HubClient } from './hub-client';

export interface KeyRequest {
  principalId: string;
  organisationId: string;
  roles: Role[];
  label: string;
}

export interface KeyRow {
  keyId: string;
  principal: string;
  organisation: string;
  roles: string;
  label: string;
  issuedAt: string;
  revokedAt: string;
}

/** What `api-keys` does, with the store itself or through the hub that holds it. */
export interface ApiKeys {
  issue(request: KeyRequest): Promise<IssuedApiKeyView>;
  /** Every key, revoked ones too. */
  list(): Promise<KeyRow[]>;
  /** False when the key was revoked already (as far as the backend can tell). */
  revoke(keyId: string): Promise<boolean>;
}

/**
 * The store's keys, written through the same commands and CommandBus as the API, on a Nest
 * context of their own for as long as `use` runs.
 */
export const withStoreApiKeys = async <T>(
  store: EventStore,
  use: (keys: ApiKeys) => Promise<T>,
): Promise<T> => {
  const context = await NestFactory.createApplicationContext(ApiKeyCommandsModule.on(store), {
    logger: false,
  });
  try {
    return await use(storeApiKeys(store, context.get(CommandBus)));
  } finally {
    await context.close();
  }
};

const storeApiKeys = (store: EventStore, commands: CommandBus): ApiKeys => ({
  issue: async (request) => {
    const { appended: _appended, ...issued } = await commands.execute(
      new IssueApiKeyCommand(request, CLI_OPERATOR),
    );
    return issued;
  },
  list: async () => {
    const rows: KeyRow[] = [];
    for (const state of (await allKeys(store)).values()) {
      if (state.status === 'none') continue;
      const { key } = state;
      rows.push({
        keyId: key.keyId,
        principal: key.principalId,
        organisation: key.organisationId,
        roles: key.roles.join(','),
        label: key.label,
        issuedAt: key.issuedAt,
        revokedAt: state.revokedAt ?? '',
      });
    }
    return rows;
  },
  revoke: async (keyId) =>
    (await commands.execute(new RevokeApiKeyCommand(keyId, CLI_OPERATOR))) !== null,
});

export const hubApiKeys = (hub: HubClient): ApiKeys => ({
  issue: (request) => hub.post<IssuedApiKeyView>('/v1/admin/api-keys', request),
  list: async () => {
    const rows: KeyRow[] = [];
    let after: string | null = null;
    do {
      const query: string = after === null ? '' : `&after=${encodeURIComponent(after)}`;
      const page: ApiKeyPage = await hub.get(
        `/v1/admin/api-keys?includeRevoked=true&limit=200${query}`,
      );
      for (const key of page.items)
        rows.push({
          keyId: key.keyId,
          principal: key.principalId,
          organisation: key.organisationId,
          roles: key.roles.join(','),
          label: key.label,
          issuedAt: key.issuedAt,
          revokedAt: key.revokedAt ?? '',
        });
      after = page.nextCursor;
    } while (after !== null);
    return rows;
  },
  // 204 whether or not it was revoked before.
  revoke: async (keyId) => {
    await hub.delete(`/v1/admin/api-keys/${encodeURIComponent(keyId)}`);
    return true;
  },
});

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
