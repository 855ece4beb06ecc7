// Import rules of the hub, checked by `npm run lint` (README, "Architecture": why each exists).
// A slice is a folder of src/ holding one capability; infrastructure is shared machinery that
// knows no capability; a read model is a folder of projections/ other than the engine.
const SLICES = [
  'api-keys',
  'batches',
  'consents',
  'courses',
  'enrolments',
  'exhausts',
  'groups',
  'lms',
  'me',
  'programs',
  'publishing',
  'subscriptions',
  'users',
];
const INFRASTRUCTURE = [
  'auth',
  'config',
  'coordination',
  'database',
  'errors',
  'event-sourcing',
  'event-store',
  'files',
  'health',
  'http',
  'ids',
  'jobs',
  'local-hub',
  'logging',
  'mail',
  'metrics',
  'time',
];
const slice = `^src/(${SLICES.join('|')})/`;
const infrastructure = `^(src/(${INFRASTRUCTURE.join('|')})/|projections/engine/)`;
const readModel = '^projections/(?!engine/)[^/]+/';
/**
 * What a slice offers the others: what happened, its rules, its commands, its Nest wiring, its
 * views, its lookups and the ports it asks others to provide.
 */
const slicePublicSurface = '\\.(events|decider|commands|module|dto|lookups|port)\\.ts$';
const readModelMayUse = [
  '^src/[^/]+/[^/]+\\.events\\.ts$',
  '^src/event-store/event-store\\.port\\.ts$',
  '^src/database/',
  '^src/errors/',
  '^src/auth/principal\\.ts$',
  '^projections/engine/',
  '^projections/[^/]+/[^/]+\\.query\\.ts$',
];
/** Packages that speak to the outside world: HTTP, Nest, databases, the file system. */
const wireLevel = [
  '(^|node_modules/)@nestjs/',
  '(^|node_modules/)@fastify/',
  '(^|node_modules/)fastify/',
  '(^|node_modules/)(pg|pg-pool)/',
  '(^|node_modules/)@electric-sql/',
  '(^|node_modules/)@eventstore/',
  '^(node:)?(http|https|http2|net|fs|fs/promises|child_process)$',
];

module.exports = {
  forbidden: [
    {
      name: 'decider-and-events-are-pure',
      comment:
        'Deciders and events are pure domain code: no Nest, Fastify, HTTP, database, event store or read model.',
      severity: 'error',
      from: { path: '^src/[^/]+/[^/]+\\.(decider|events)\\.ts$' },
      to: {
        path: [
          ...wireLevel,
          '^src/(database|http|event-store|auth/(?!principal\\.ts))',
          '^src/event-sourcing/(command-handler|recent-states|state-cache)\\.ts$',
          '^projections/',
        ],
      },
    },
    {
      name: 'projection-reads-only-events',
      comment:
        "A read model depends on slices' events, the event-store port, the database, errors, the principal type and the projection engine; its query module may also compose another read model's query module.",
      severity: 'error',
      from: { path: '^projections/(?!engine/)([^/]+)/' },
      to: {
        dependencyTypesNot: ['npm', 'core'],
        pathNot: [...readModelMayUse, '^projections/$1/'],
      },
    },
    {
      name: 'only-queries-compose-read-models',
      comment:
        "A projection's handlers see only their own read model; only a *.query.ts module may join another one, through that one's *.query.ts.",
      severity: 'error',
      from: { path: '^projections/(?!engine/)([^/]+)/', pathNot: '\\.query\\.ts$' },
      to: { path: readModel, pathNot: '^projections/$1/' },
    },
    {
      name: 'slice-reads-read-models-through-queries',
      comment:
        "A slice reads a read model only through its *.query.ts module, and the engine only through ProjectionEngine; a projection's handlers and the engine's parts are not its business.",
      severity: 'error',
      from: { path: slice },
      to: {
        path: '^projections/',
        pathNot: [
          '^projections/[^/]+/[^/]+\\.query\\.ts$',
          '^projections/engine/projection-engine\\.service\\.ts$',
        ],
      },
    },
    {
      name: 'infrastructure-knows-no-slice',
      comment: 'Shared infrastructure imports no slice and no read model: slices plug into it.',
      severity: 'error',
      from: { path: infrastructure },
      to: { path: [slice, readModel, '^src/cli/', '^src/(main|app|app\\.module)\\.ts$'] },
    },
    {
      name: 'slices-meet-at-their-public-surface',
      comment:
        "A slice uses another slice only through its events, decider, commands, module, DTOs and lookups; the rest is that slice's own.",
      severity: 'error',
      from: { path: '^src/([^/]+)/' },
      to: {
        path: slice,
        pathNot: ['^src/$1/', slicePublicSurface],
      },
    },
    {
      name: 'no-module-cycles',
      comment: 'No module reaches itself through its imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
