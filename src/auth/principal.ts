export const ROLES = [
  'SYSTEM_ADMIN',
  'ORG_ADMIN',
  'CONTENT_CREATOR',
  'COURSE_MENTOR',
  'LEARNER',
  'PUBLISHER',
  'SUBSCRIBER',
  // Reads the hub's operational metrics (GET /metrics): a scraper's key.
  'METRICS',
] as const;

export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The slice of a principal that deciders see: plain data, so decisions stay pure. */
export interface Actor {
  userId: string;
  organisationId: string;
  roles: readonly Role[];
}

/** Who is calling: resolved from an API key, a JWT or the bootstrap admin token. */
export interface Principal extends Actor {
  /** How the caller authenticated; the API key id when it was a key. */
  credential: { kind: 'api-key'; keyId: string } | { kind: 'jwt' } | { kind: 'admin-token' };
}

export const hasRole = (actor: Actor, ...roles: Role[]): boolean =>
  roles.some((role) => actor.roles.includes(role));

export const isSystemAdmin = (actor: Actor): boolean => hasRole(actor, 'SYSTEM_ADMIN');

/** System admins reach every organisation; everyone else only their own. */
export const canSeeOrganisation = (actor: Actor, organisationId: string): boolean =>
  isSystemAdmin(actor) || actor.organisationId === organisationId;

export const isAdminOf = (actor: Actor, organisationId: string): boolean =>
  isSystemAdmin(actor) || (hasRole(actor, 'ORG_ADMIN') && actor.organisationId === organisationId);

/**
 * Whether the actor is the user `userId`. User ids are the hub's, across organisations: when
 * the hub has the user's profile, a principal of another organisation carrying the same id is
 * someone else.
 */
export const isSameUser = (
  actor: Actor,
  userId: string,
  profile: { organisationId: string } | null | undefined,
): boolean =>
  actor.userId === userId && (!profile || profile.organisationId === actor.organisationId);

export const actorOf = (principal: Principal): Actor => ({
  userId: principal.userId,
  organisationId: principal.organisationId,
  roles: principal.roles,
});

/** The actor that the hub itself acts as, e.g. the batch-status scheduler. */
export const HUB_SYSTEM_ACTOR: Actor = {
  userId: 'system:hub',
  organisationId: 'system',
  roles: ['SYSTEM_ADMIN'],
};

/**
 * Who the CLI acts as: with the database directly (whoever runs it holds the database
 * credentials) or through the hub's local admin token (see LocalAdminToken).
 */
export const CLI_OPERATOR: Principal = {
  userId: 'cli:operator',
  organisationId: 'system',
  roles: ['SYSTEM_ADMIN'],
  credential: { kind: 'admin-token' },
};
