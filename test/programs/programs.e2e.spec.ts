import { programStream } from '../../src/programs/program.events';
import {
  ADMIN_TOKEN,
  freshStorage,
  HubStorage,
  issueKey,
  RunningHub,
  startHub,
} from '../support/hub-harness';

type Reply = Awaited<ReturnType<RunningHub['call']>>;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ORG_A = 'org-prog-a';
const ORG_B = 'org-prog-b';
const ORG_C = 'org-prog-c';

const expectProblem = (response: Reply, status: number, code?: string) => {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({ status, ...(code === undefined ? {} : { code }) });
};

const programIds = (response: Reply): string[] =>
  (response.body.items as { programId: string }[]).map((program) => program.programId);

/** Registering, reading, listing and renaming programs through the HTTP API. */
describe('Programs API', () => {
  let storage: HubStorage;
  let hub: RunningHub;
  let adminA: string; // ORG_ADMIN of ORG_A
  let adminB: string; // ORG_ADMIN of ORG_B
  let publisherA: string; // PUBLISHER of ORG_A
  let adminC: string; // ORG_ADMIN of ORG_C

  /** Runs `act` and expects it to leave the event log exactly as it was. */
  const expectNothingAppended = async <T>(act: () => Promise<T>): Promise<T> => {
    const before = await hub.store.headPosition();
    const result = await act();
    expect(await hub.store.headPosition()).toEqual(before);
    return result;
  };

  beforeAll(async () => {
    storage = await freshStorage('programs-e2e');
    hub = await startHub(storage.storage);
    [adminA, adminB, publisherA, adminC] = await Promise.all([
      issueKey(hub, 'admin-a', ORG_A, ['ORG_ADMIN']),
      issueKey(hub, 'admin-b', ORG_B, ['ORG_ADMIN']),
      issueKey(hub, 'publisher-a', ORG_A, ['PUBLISHER']),
      issueKey(hub, 'admin-c', ORG_C, ['ORG_ADMIN']),
    ]);
  });

  afterAll(async () => {
    await hub?.close();
    await storage?.dispose();
  });

  describe('registering', () => {
    let registeredAt: string;

    it('lets a system admin register a program for any organisation', async () => {
      const response = await hub.call(ADMIN_TOKEN, 'POST', '/v1/programs', {
        programId: 'PA-1',
        organisationId: ORG_A,
        name: 'Program A one',
        description: 'The first',
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe('/v1/programs/PA-1');
      expect(response.body).toEqual({
        programId: 'PA-1',
        organisationId: ORG_A,
        name: 'Program A one',
        description: 'The first',
        registeredAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
      registeredAt = response.body.registeredAt;
      const events = await hub.store.readStream(programStream('PA-1'));
      expect(events.map((event) => [event.type, event.data])).toEqual([
        [
          'ProgramRegistered',
          {
            programId: 'PA-1',
            organisationId: ORG_A,
            name: 'Program A one',
            description: 'The first',
            registeredBy: expect.any(String),
            registeredAt,
          },
        ],
      ]);
    });

    it('lets an org admin register a program for its own organisation (the default)', async () => {
      const response = await hub.call(adminB, 'POST', '/v1/programs', {
        programId: 'PB.1:x@y_z',
        name: 'Program B one',
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('location')).toBe('/v1/programs/PB.1:x@y_z');
      expect(response.body).toMatchObject({
        programId: 'PB.1:x@y_z',
        organisationId: ORG_B,
        name: 'Program B one',
        description: null,
      });
      const named = await hub.call(adminA, 'POST', '/v1/programs', {
        programId: 'PA-2',
        organisationId: ORG_A,
        name: 'Program A two',
      });
      expect(named.status).toBe(201);
      expect(named.body).toMatchObject({ programId: 'PA-2', organisationId: ORG_A });
    });

    it('answers an identical retry with 200 and the original, recording nothing', async () => {
      const retried = await expectNothingAppended(() =>
        hub.call(adminA, 'POST', '/v1/programs', {
          programId: 'PA-1',
          name: 'Program A one',
          description: 'The first',
        }),
      );
      expect(retried.status).toBe(200);
      expect(retried.headers.get('location')).toBe('/v1/programs/PA-1');
      expect(retried.body).toMatchObject({
        programId: 'PA-1',
        organisationId: ORG_A,
        registeredAt,
      });
    });

    it('refuses the same id with other content: 409 PROGRAM_EXISTS', async () => {
      for (const body of [
        {
          programId: 'PA-1',
          organisationId: ORG_A,
          name: 'Another name',
          description: 'The first',
        },
        { programId: 'PA-1', organisationId: ORG_A, name: 'Program A one' },
        {
          programId: 'PA-1',
          organisationId: ORG_B,
          name: 'Program A one',
          description: 'The first',
        },
      ]) {
        const response = await expectNothingAppended(() =>
          hub.call(ADMIN_TOKEN, 'POST', '/v1/programs', body),
        );
        expectProblem(response, 409, 'PROGRAM_EXISTS');
      }
      // Another organisation's admin cannot take the id over either.
      const takeover = await expectNothingAppended(() =>
        hub.call(adminB, 'POST', '/v1/programs', { programId: 'PA-1', name: 'Mine now' }),
      );
      expectProblem(takeover, 409, 'PROGRAM_EXISTS');
    });

    it('refuses an org admin registering for another organisation: 403', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(adminB, 'POST', '/v1/programs', {
          programId: 'PB-for-A',
          organisationId: ORG_A,
          name: 'Sneaky',
        }),
      );
      expectProblem(response, 403);
      expectProblem(await hub.call(ADMIN_TOKEN, 'GET', '/v1/programs/PB-for-A'), 404);
    });

    it('refuses a caller that is not an admin (a PUBLISHER): 403', async () => {
      const response = await expectNothingAppended(() =>
        hub.call(publisherA, 'POST', '/v1/programs', { programId: 'PA-pub', name: 'By publisher' }),
      );
      expectProblem(response, 403);
      expectProblem(
        await hub.call(null, 'POST', '/v1/programs', { programId: 'X', name: 'x' }),
        401,
      );
    });

    it('refuses malformed program ids and bodies with 400 VALIDATION_FAILED, recording nothing', async () => {
      const bodies: unknown[] = [
        { programId: 'A'.repeat(26), name: 'Too long' },
        { programId: 'PA/evil', name: 'Slash' },
        { programId: '-leading', name: 'Leading dash' },
        { programId: '', name: 'Empty' },
        { programId: 'has space', name: 'Space' },
        { name: 'No id' },
        { programId: 'PA-noname' },
        { programId: 'PA-longname', name: 'n'.repeat(201) },
        { programId: 'PA-longdesc', name: 'ok', description: 'd'.repeat(2001) },
        { programId: 42, name: 'Number' },
      ];
      for (const body of bodies) {
        const response = await expectNothingAppended(() =>
          hub.call(ADMIN_TOKEN, 'POST', '/v1/programs', body),
        );
        expectProblem(response, 400, 'VALIDATION_FAILED');
      }
      // 25 characters is the limit, and accepted.
      const atLimit = await hub.call(ADMIN_TOKEN, 'POST', '/v1/programs', {
        programId: 'Z'.repeat(25),
        organisationId: ORG_C,
        name: 'At the limit',
      });
      expect(atLimit.status).toBe(201);
      expect(atLimit.body.programId).toBe('Z'.repeat(25));
    });
  });

  describe('reading and listing', () => {
    beforeAll(async () => {
      // ORG_C gets several programs to page through (besides the 25-character one).
      for (const id of ['C-01', 'C-02', 'C-03', 'C-04', 'C-05', 'C-06']) {
        const response = await hub.call(adminC, 'POST', '/v1/programs', {
          programId: id,
          name: `Program ${id}`,
        });
        expect(response.status).toBe(201);
      }
    });

    it('lists only the caller’s organisation’s programs', async () => {
      const listA = await hub.call(adminA, 'GET', '/v1/programs');
      expect(listA.status).toBe(200);
      expect(programIds(listA)).toEqual(['PA-1', 'PA-2']);
      expect(listA.body.nextCursor).toBeNull();
      expect(listA.body.items[0]).toEqual({
        programId: 'PA-1',
        organisationId: ORG_A,
        name: 'Program A one',
        description: 'The first',
        registeredAt: expect.stringMatching(ISO),
        updatedAt: expect.stringMatching(ISO),
      });
      // A publisher of the organisation sees them too; naming another organisation changes nothing.
      const byPublisher = await hub.call(publisherA, 'GET', `/v1/programs?organisationId=${ORG_B}`);
      expect(byPublisher.status).toBe(200);
      expect(programIds(byPublisher)).toEqual(['PA-1', 'PA-2']);
      const listB = await hub.call(adminB, 'GET', '/v1/programs');
      expect(programIds(listB)).toEqual(['PB.1:x@y_z']);
    });

    it('lists every program for a system admin, or one organisation’s with ?organisationId=', async () => {
      const all = await hub.call(ADMIN_TOKEN, 'GET', '/v1/programs?limit=500');
      expect(all.status).toBe(200);
      const ids = programIds(all);
      expect(ids).toEqual(
        [
          'C-01',
          'C-02',
          'C-03',
          'C-04',
          'C-05',
          'C-06',
          'PA-1',
          'PA-2',
          'PB.1:x@y_z',
          'Z'.repeat(25),
        ].sort(),
      );
      const onlyB = await hub.call(ADMIN_TOKEN, 'GET', `/v1/programs?organisationId=${ORG_B}`);
      expect(programIds(onlyB)).toEqual(['PB.1:x@y_z']);
    });

    it('pages with the cursor, without gaps or repeats', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string =
          cursor === null ? '?limit=3' : `?limit=3&cursor=${encodeURIComponent(cursor)}`;
        const page = await hub.call(adminC, 'GET', `/v1/programs${query}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(3);
        seen.push(...programIds(page));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      expect(seen).toEqual(['C-01', 'C-02', 'C-03', 'C-04', 'C-05', 'C-06', 'Z'.repeat(25)]);
      expect(pages).toBe(3);
      expectProblem(await hub.call(adminC, 'GET', '/v1/programs?limit=0'), 400);
      expectProblem(await hub.call(adminC, 'GET', '/v1/programs?cursor=a%2Fb'), 400);
    });

    it('shows a program of the caller’s organisation, and 404 for another’s', async () => {
      const own = await hub.call(publisherA, 'GET', '/v1/programs/PA-1');
      expect(own.status).toBe(200);
      expect(own.body).toMatchObject({ programId: 'PA-1', organisationId: ORG_A });
      expectProblem(await hub.call(adminB, 'GET', '/v1/programs/PA-1'), 404, 'PROGRAM_NOT_FOUND');
      expectProblem(await hub.call(adminA, 'GET', '/v1/programs/nope'), 404, 'PROGRAM_NOT_FOUND');
      const bySystemAdmin = await hub.call(ADMIN_TOKEN, 'GET', '/v1/programs/PB.1:x@y_z');
      expect(bySystemAdmin.status).toBe(200);
      expect(bySystemAdmin.body.organisationId).toBe(ORG_B);
    });
  });

  describe('updating', () => {
    it('lets an admin of the organisation rename and describe a program', async () => {
      const before = await hub.call(adminA, 'GET', '/v1/programs/PA-2');
      const response = await hub.call(adminA, 'PATCH', '/v1/programs/PA-2', {
        name: 'Program A two, renamed',
        description: 'Now described',
      });
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        programId: 'PA-2',
        organisationId: ORG_A,
        name: 'Program A two, renamed',
        description: 'Now described',
        registeredAt: before.body.registeredAt,
        updatedAt: expect.stringMatching(ISO),
      });
      expect(response.body.updatedAt >= before.body.registeredAt).toBe(true);
      const read = await hub.call(adminA, 'GET', '/v1/programs/PA-2');
      expect(read.body).toEqual(response.body);
      const listed = await hub.call(adminA, 'GET', '/v1/programs');
      expect(listed.body.items).toContainEqual(response.body);

      // The same again changes nothing; null clears the description.
      const same = await expectNothingAppended(() =>
        hub.call(adminA, 'PATCH', '/v1/programs/PA-2', { name: 'Program A two, renamed' }),
      );
      expect(same.status).toBe(200);
      const cleared = await hub.call(ADMIN_TOKEN, 'PATCH', '/v1/programs/PA-2', {
        description: null,
      });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ name: 'Program A two, renamed', description: null });
    });

    it('refuses other organisations (404), non-admins (403) and invalid changes (400)', async () => {
      await expectNothingAppended(async () => {
        expectProblem(
          await hub.call(adminB, 'PATCH', '/v1/programs/PA-2', { name: 'Hijacked' }),
          404,
          'PROGRAM_NOT_FOUND',
        );
        expectProblem(
          await hub.call(publisherA, 'PATCH', '/v1/programs/PA-2', { name: 'By publisher' }),
          403,
        );
        expectProblem(
          await hub.call(adminA, 'PATCH', '/v1/programs/PA-2', { name: '' }),
          400,
          'VALIDATION_FAILED',
        );
        expectProblem(
          await hub.call(adminA, 'PATCH', '/v1/programs/unknown', { name: 'x' }),
          404,
          'PROGRAM_NOT_FOUND',
        );
      });
      const unchanged = await hub.call(adminA, 'GET', '/v1/programs/PA-2');
      expect(unchanged.body.name).toBe('Program A two, renamed');
    });
  });
});
