import { loadConfig } from '../config/hub-config';
import { HubError, InvalidInputError } from '../errors/hub-error';
import { hubHolding } from './hub-access';
import { HubClient } from './hub-client';

type Env = Record<string, string | undefined>;

/**
 * HUB_URL (with HUB_TOKEN) when set. Else, on the embedded store, the hub that holds DATA_DIR,
 * as its local system admin (HUB_TOKEN still names another principal); on a PostgreSQL server,
 * a hub on this machine's PORT with HUB_TOKEN.
 */
export const hubTarget = async (env: Env): Promise<HubClient> => {
  const token = env.HUB_TOKEN ?? env.HUB_ADMIN_TOKEN;
  const tokenNeeded = (url: string) =>
    new InvalidInputError(
      `Set HUB_TOKEN to an API key (or admin token) of ${url} that may do this.`,
    );
  if (env.HUB_URL) {
    if (!token) throw tokenNeeded(env.HUB_URL);
    return new HubClient(env.HUB_URL, token);
  }
  const config = loadConfig(env);
  if (config.storage.kind !== 'embedded') {
    const url = `http://127.0.0.1:${config.port}`;
    if (!token) throw tokenNeeded(url);
    return new HubClient(url, token);
  }
  const hub = await hubHolding(config.storage.dataDir);
  if (!hub)
    throw new HubError(
      'unavailable',
      'HUB_NOT_RUNNING',
      `No hub is running on ${config.storage.dataDir}, and bulk enrolment is a job of the hub: start it (npm start), or set HUB_URL and HUB_TOKEN to use another.`,
    );
  return new HubClient(hub.url, env.HUB_TOKEN ?? hub.token);
};
