import { LocalAdminToken } from '../../src/auth/admin-token';
import { LOCAL_ADMIN_TOKEN } from '../../src/auth/authenticator';
import { tempDataDir } from '../support/hub-config';
import { issueKey, RunningHub, startHub } from '../support/hub-harness';

/**
 * The credential a hub on the embedded store leaves in DATA_DIR/hub.json for the CLI: a system
 * admin, of that process only.
 */
describe('the local admin token of a hub on the embedded store', () => {
  let hub: RunningHub;
  let token: string;

  beforeAll(async () => {
    hub = await startHub({ kind: 'embedded', dataDir: tempDataDir('local-token') });
    token = hub.app.get<LocalAdminToken>(LOCAL_ADMIN_TOKEN).token;
  });

  afterAll(() => hub?.close());

  it('acts as the CLI operator, a system admin', async () => {
    const issued = await hub.call(token, 'POST', '/v1/admin/api-keys', {
      principalId: 'via-cli',
      organisationId: 'org-l',
      roles: ['ORG_ADMIN'],
    });
    expect(issued.status).toBe(201);
    const listed = await hub.call(token, 'GET', '/v1/admin/api-keys');
    expect(listed.body.items).toEqual([
      expect.objectContaining({ principalId: 'via-cli', issuedBy: 'cli:operator' }),
    ]);
  });

  it('is accepted by no other process: another token of the same form is refused', async () => {
    const other = new LocalAdminToken().token;
    expect((await hub.call(other, 'GET', '/v1/admin/projections')).status).toBe(401);
  });

  it('reads every projection’s status (GET /v1/admin/projections), which only system admins may', async () => {
    const status = await hub.call(token, 'GET', '/v1/admin/projections');
    expect(status.status).toBe(200);
    expect(status.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ projection: 'api-keys', eventsApplied: 1, failure: null }),
      ]),
    );
    const orgAdmin = await issueKey(hub, 'org-admin', 'org-l', ['ORG_ADMIN']);
    expect((await hub.call(orgAdmin, 'GET', '/v1/admin/projections')).status).toBe(403);
  });
});
