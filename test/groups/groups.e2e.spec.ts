import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const groupIds = (reply: Reply): string[] => {
  expect(reply.status).toBe(200);
  return (reply.body as { groups: { groupId: string }[] }).groups.map((group) => group.groupId);
};

const ORG = 'org-a';
const OTHER_ORG = 'org-b';

const expectProblem = (response: Reply, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

const snapshot = (overrides: Record<string, unknown> = {}) => ({
  name: 'Grade 5 B',
  members: [{ userId: 'gadmin', role: 'admin' }, { userId: 'lea' }],
  activities: [{ activityId: 'c1', activityType: 'Course' }],
  ...overrides,
});

/** Groups through the HTTP API: snapshots, members, activities, reads and lists. */
describe('Groups API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let orgAdmin: string; // ORG_ADMIN of org-a
  let otherAdmin: string; // ORG_ADMIN of org-b
  let groupAdmin: string; // LEARNER of org-a, admin of group g1
  let lea: string; // LEARNER of org-a, member of g1
  let sam: string; // LEARNER of org-a, in no group

  const groupEvents = async (groupId: string) =>
    (await hub.store.readStream(`group-${groupId}`)).map((event) => event.type);

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  beforeAll(async () => {
    storage = await freshStorage('groups-e2e');
    // The production default: a snapshot of the most members a group may have fits in it.
    hub = await startHub(storage.storage, { bodyLimitBytes: 1_048_576 });
    [orgAdmin, otherAdmin, groupAdmin, lea, sam] = await Promise.all([
      issueKey(hub, 'adm', ORG, ['ORG_ADMIN']),
      issueKey(hub, 'adm-b', OTHER_ORG, ['ORG_ADMIN']),
      issueKey(hub, 'gadmin', ORG, ['LEARNER']),
      issueKey(hub, 'lea', ORG, ['LEARNER']),
      issueKey(hub, 'sam', ORG, ['LEARNER']),
    ]);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('PUT /v1/groups/:groupId', () => {
    it('creates the group in the org admin’s organisation: 201 with the view', async () => {
      const response = await hub.call(orgAdmin, 'PUT', '/v1/groups/g1', snapshot());
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe('/v1/groups/g1');
      expect(response.body).toEqual({
        groupId: 'g1',
        organisationId: ORG,
        name: 'Grade 5 B',
        description: null,
        members: [
          { userId: 'gadmin', role: 'admin', status: 'active' },
          { userId: 'lea', role: 'member', status: 'active' },
        ],
        activities: [{ activityId: 'c1', activityType: 'Course' }],
      });
      expect(await groupEvents('g1')).toEqual([
        'GroupCreated',
        'GroupMemberAdded',
        'GroupMemberAdded',
        'GroupActivityAdded',
      ]);
      const [first] = await hub.store.readStream('group-g1');
      expect(first?.metadata).toMatchObject({ principal: 'adm', tenant: ORG });
    });

    it('answers an unchanged snapshot 200 and appends nothing', async () => {
      const again = await expectNothingAppended(() =>
        hub.call(orgAdmin, 'PUT', '/v1/groups/g1', {
          ...snapshot(),
          organisationId: ORG,
          members: [{ userId: 'lea' }, { userId: 'gadmin', role: 'admin', status: 'active' }],
        }),
      );
      expect(again.status).toBe(200);
      expect(again.body.members).toHaveLength(2);
      expect(await groupEvents('g1')).toHaveLength(4);
    });

    it('records only the differences of a changed snapshot: 200', async () => {
      const response = await hub.call(orgAdmin, 'PUT', '/v1/groups/g2', {
        ...snapshot(),
        members: [{ userId: 'u1' }, { userId: 'u2' }],
      });
      expect(response.status).toBe(201);
      const changed = await hub.call(orgAdmin, 'PUT', '/v1/groups/g2', {
        ...snapshot(),
        description: 'Now described',
        members: [{ userId: 'u1', status: 'inactive' }, { userId: 'u3' }],
        activities: [{ activityId: 'c1', activityType: 'Assessment' }],
      });
      expect(changed.status).toBe(200);
      expect(changed.body).toMatchObject({
        description: 'Now described',
        members: [
          { userId: 'u1', role: 'member', status: 'inactive' },
          { userId: 'u3', role: 'member', status: 'active' },
        ],
        activities: [{ activityId: 'c1', activityType: 'Assessment' }],
      });
      expect((await groupEvents('g2')).slice(4)).toEqual([
        'GroupDetailsChanged',
        'GroupMemberRemoved',
        'GroupMemberChanged',
        'GroupMemberAdded',
        'GroupActivityRemoved',
        'GroupActivityAdded',
      ]);
    });

    it('lets a system admin create a group of a named organisation, and asks for one', async () => {
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'PUT', '/v1/groups/g3', snapshot()),
        400,
        'GROUP_ORGANISATION_REQUIRED',
      );
      const response = await hub.call(ADMIN_TOKEN, 'PUT', '/v1/groups/g3', {
        ...snapshot({ members: [{ userId: 'bob' }], activities: [] }),
        organisationId: OTHER_ORG,
      });
      expect(response.status).toBe(201);
      expect(response.body).toMatchObject({ organisationId: OTHER_ORG });
    });

    it('refuses moving a group, and writers who are not admins of its organisation', async () => {
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'PUT', '/v1/groups/g1', {
          ...snapshot(),
          organisationId: OTHER_ORG,
        }),
        409,
        'GROUP_ORGANISATION_IMMUTABLE',
      );
      for (const token of [groupAdmin, lea, otherAdmin])
        expectProblem(
          await hub.call(token, 'PUT', '/v1/groups/g1', snapshot()),
          403,
          'GROUP_WRITE_FORBIDDEN',
        );
      expectProblem(
        await hub.call(lea, 'PUT', '/v1/groups/new-one', snapshot()),
        403,
        'GROUP_WRITE_FORBIDDEN',
      );
      expectProblem(
        await hub.call(orgAdmin, 'PUT', '/v1/groups/new-one', {
          ...snapshot(),
          organisationId: OTHER_ORG,
        }),
        403,
        'GROUP_WRITE_FORBIDDEN',
      );
    });

    it('answers bad input with problem+json, never a 500, and records nothing', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(orgAdmin, 'PUT', '/v1/groups/g4', {
            ...snapshot(),
            members: [{ userId: 'lea' }, { userId: 'lea', role: 'admin' }],
          }),
          400,
          'GROUP_SNAPSHOT_DUPLICATE',
        );
        const invalid = await hub.call(orgAdmin, 'PUT', '/v1/groups/g4', {
          name: '',
          members: [{ userId: 'bad id', role: 'owner' }],
          activities: [{ activityId: 'c1', activityType: '' }],
          extra: true,
        });
        expectProblem(invalid, 400, 'VALIDATION_FAILED');
        expectProblem(
          await hub.call(orgAdmin, 'PUT', '/v1/groups/g4', { name: 'x' }),
          400,
          'VALIDATION_FAILED',
        );
        expectProblem(
          await hub.call(orgAdmin, 'PUT', '/v1/groups/g4', {
            ...snapshot(),
            members: Array.from({ length: 10_001 }, (_, index) => ({ userId: `u${index}` })),
          }),
          400,
          'VALIDATION_FAILED',
        );
        expectProblem(
          await hub.call(orgAdmin, 'PUT', '/v1/groups/bad%20id', snapshot()),
          400,
          'INVALID_IDENTIFIER',
        );
        expectProblem(
          await hub.call(orgAdmin, 'PUT', '/v1/groups/g4', '[1'),
          400,
          'MALFORMED_JSON',
        );
        expectProblem(await hub.call(null, 'PUT', '/v1/groups/g4', snapshot()), 401);
      });
    });
    it('takes a snapshot of the most members a group may have, and its retry appends nothing', async () => {
      const body = snapshot({
        members: Array.from({ length: 10_000 }, (_, index) => ({ userId: `big-${index}` })),
        activities: [],
      });
      const created = await hub.call(orgAdmin, 'PUT', '/v1/groups/big', body);
      expect(created.status).toBe(201);
      expect(created.body.members).toHaveLength(10_000);
      const retried = await expectNothingAppended(() =>
        hub.call(orgAdmin, 'PUT', '/v1/groups/big', body),
      );
      expect(retried.status).toBe(200);
      expectProblem(
        await hub.call(orgAdmin, 'POST', '/v1/groups/big/members/one-more', {}),
        422,
        'GROUP_LIMIT_REACHED',
      );
      const removed = await hub.call(orgAdmin, 'PUT', '/v1/groups/big', {
        ...body,
        members: [],
      });
      expect(removed.body.members).toEqual([]);
    }, 60_000);
  });

  describe('members', () => {
    it('adds a member (default member, active) and changes their role: 200 with the view', async () => {
      const added = await hub.call(orgAdmin, 'POST', '/v1/groups/g1/members/sue', {});
      expect(added.status).toBe(200);
      expect(added.body.members).toContainEqual({
        userId: 'sue',
        role: 'member',
        status: 'active',
      });
      const changed = await hub.call(groupAdmin, 'POST', '/v1/groups/g1/members/sue', {
        role: 'admin',
        status: 'inactive',
      });
      expect(changed.status).toBe(200);
      expect(changed.body.members).toContainEqual({
        userId: 'sue',
        role: 'admin',
        status: 'inactive',
      });
      const same = await expectNothingAppended(() =>
        hub.call(groupAdmin, 'POST', '/v1/groups/g1/members/sue', {
          role: 'admin',
          status: 'inactive',
        }),
      );
      expect(same.status).toBe(200);
    });

    it('removes a member (the group’s admin may): 204; a non-member is 404', async () => {
      const removed = await hub.call(groupAdmin, 'DELETE', '/v1/groups/g1/members/sue');
      expect(removed.status).toBe(204);
      expect(removed.body).toBeNull();
      expectProblem(
        await hub.call(groupAdmin, 'DELETE', '/v1/groups/g1/members/sue'),
        404,
        'GROUP_MEMBER_NOT_FOUND',
      );
    });

    it('refuses a plain member, hides the group from others', async () => {
      expectProblem(
        await hub.call(lea, 'POST', '/v1/groups/g1/members/sam', {}),
        403,
        'GROUP_WRITE_FORBIDDEN',
      );
      expectProblem(
        await hub.call(sam, 'POST', '/v1/groups/g1/members/sam', {}),
        404,
        'GROUP_NOT_FOUND',
      );
      expectProblem(
        await hub.call(otherAdmin, 'DELETE', '/v1/groups/g1/members/lea'),
        404,
        'GROUP_NOT_FOUND',
      );
      expectProblem(
        await hub.call(orgAdmin, 'POST', '/v1/groups/nope/members/lea', {}),
        404,
        'GROUP_NOT_FOUND',
      );
      expectProblem(
        await hub.call(orgAdmin, 'POST', '/v1/groups/g1/members/lea', { role: 'owner' }),
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('activities', () => {
    it('adds, replaces and removes activities (org admins)', async () => {
      const added = await hub.call(orgAdmin, 'POST', '/v1/groups/g1/activities/c2', {
        activityType: 'Course',
      });
      expect(added.status).toBe(200);
      expect(added.body.activities).toEqual([
        { activityId: 'c1', activityType: 'Course' },
        { activityId: 'c2', activityType: 'Course' },
      ]);
      await expectNothingAppended(() =>
        hub.call(orgAdmin, 'POST', '/v1/groups/g1/activities/c2', { activityType: 'Course' }),
      );
      const replaced = await hub.call(ADMIN_TOKEN, 'POST', '/v1/groups/g1/activities/c2', {
        activityType: 'Assessment',
      });
      expect(replaced.body.activities).toContainEqual({
        activityId: 'c2',
        activityType: 'Assessment',
      });
      expect((await groupEvents('g1')).slice(-2)).toEqual([
        'GroupActivityRemoved',
        'GroupActivityAdded',
      ]);
      const removed = await hub.call(orgAdmin, 'DELETE', '/v1/groups/g1/activities/c2');
      expect(removed.status).toBe(204);
      expectProblem(
        await hub.call(orgAdmin, 'DELETE', '/v1/groups/g1/activities/c2'),
        404,
        'GROUP_ACTIVITY_NOT_FOUND',
      );
    });

    it('refuses the group’s admin, and bad input', async () => {
      expectProblem(
        await hub.call(groupAdmin, 'POST', '/v1/groups/g1/activities/c3', {
          activityType: 'Course',
        }),
        403,
        'GROUP_WRITE_FORBIDDEN',
      );
      expectProblem(
        await hub.call(orgAdmin, 'POST', '/v1/groups/g1/activities/c3', {}),
        400,
        'VALIDATION_FAILED',
      );
      expectProblem(
        await hub.call(orgAdmin, 'DELETE', '/v1/groups/nope/activities/c1'),
        404,
        'GROUP_NOT_FOUND',
      );
    });
  });

  describe('GET /v1/groups/:groupId', () => {
    it('shows the group to its members, its organisation’s admins and system admins', async () => {
      for (const token of [lea, groupAdmin, orgAdmin, ADMIN_TOKEN]) {
        const response = await hub.call(token, 'GET', '/v1/groups/g1');
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ groupId: 'g1', organisationId: ORG });
      }
    });

    it('answers 404 to anyone else, as for a group that does not exist', async () => {
      expectProblem(await hub.call(sam, 'GET', '/v1/groups/g1'), 404, 'GROUP_NOT_FOUND');
      expectProblem(await hub.call(otherAdmin, 'GET', '/v1/groups/g1'), 404, 'GROUP_NOT_FOUND');
      expectProblem(await hub.call(orgAdmin, 'GET', '/v1/groups/nope'), 404, 'GROUP_NOT_FOUND');
      expectProblem(await hub.call(orgAdmin, 'GET', '/v1/groups/g3'), 404, 'GROUP_NOT_FOUND');
    });
  });

  describe('GET /v1/groups', () => {
    it('lists the caller’s own groups for anyone', async () => {
      const response = await hub.call(lea, 'GET', '/v1/groups?member=lea');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        groups: [
          {
            groupId: 'g1',
            organisationId: ORG,
            name: 'Grade 5 B',
            description: null,
            memberCount: 2,
            activityCount: 1,
            updatedAt: expect.any(String),
          },
        ],
        nextCursor: null,
      });
      expect((await hub.call(sam, 'GET', '/v1/groups?member=sam')).body).toEqual({
        groups: [],
        nextCursor: null,
      });
    });

    it('lists an org admin’s organisation, a system admin’s all, a page at a time', async () => {
      expect(groupIds(await hub.call(orgAdmin, 'GET', '/v1/groups'))).toEqual(['big', 'g1', 'g2']);
      expect(groupIds(await hub.call(otherAdmin, 'GET', '/v1/groups'))).toEqual(['g3']);
      const first = await hub.call(ADMIN_TOKEN, 'GET', '/v1/groups?limit=3');
      expect(groupIds(first)).toEqual(['big', 'g1', 'g2']);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await hub.call(
        ADMIN_TOKEN,
        'GET',
        `/v1/groups?limit=3&cursor=${first.body.nextCursor}`,
      );
      expect(second.body).toMatchObject({ groups: [{ groupId: 'g3' }], nextCursor: null });
      expect(
        groupIds(await hub.call(ADMIN_TOKEN, 'GET', `/v1/groups?organisation=${OTHER_ORG}`)),
      ).toEqual(['g3']);
      expect(groupIds(await hub.call(orgAdmin, 'GET', '/v1/groups?member=u3'))).toEqual(['g2']);
      expect(
        groupIds(await hub.call(ADMIN_TOKEN, 'GET', `/v1/groups?member=bob&organisation=${ORG}`)),
      ).toEqual([]);
    });

    it('refuses other lists, and bad queries', async () => {
      expectProblem(await hub.call(lea, 'GET', '/v1/groups'), 403, 'GROUP_LIST_FORBIDDEN');
      expectProblem(
        await hub.call(lea, 'GET', '/v1/groups?member=gadmin'),
        403,
        'GROUP_LIST_FORBIDDEN',
      );
      expectProblem(
        await hub.call(orgAdmin, 'GET', `/v1/groups?organisation=${OTHER_ORG}`),
        403,
        'GROUP_LIST_FORBIDDEN',
      );
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'GET', '/v1/groups?cursor=!!!'),
        400,
        'INVALID_CURSOR',
      );
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'GET', '/v1/groups?limit=0'),
        400,
        'VALIDATION_FAILED',
      );
      expectProblem(
        await hub.call(ADMIN_TOKEN, 'GET', '/v1/groups?member=a%20b'),
        400,
        'VALIDATION_FAILED',
      );
    });
  });
});
