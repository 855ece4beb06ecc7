import { Type } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { Readable } from 'node:stream';
import { createHubApp } from '../../src/app';
import { HubConfig } from '../../src/config/hub-config';
import { PROBLEM_SCHEMA_NAME } from '../../src/errors/api-problems';
import { hubDocumentOf } from '../../src/http/openapi';
import { DOCS_PATH } from '../../src/http/security-headers';

/** One answer of the app, as a client received it. */
export interface RecordedResponse {
  method: string;
  /** The Fastify route pattern (`/v1/batches/:batchId`), or null when no route matched. */
  route: string | null;
  url: string;
  status: number;
  contentType: string | null;
  /** The body as sent; null when it was not captured (a stream, or over the cap). */
  body: string | null;
}

/** Bodies larger than this are checked for status and media type only. */
const BODY_CAP_BYTES = 4 * 1024 * 1024;

const METADATA_KEYWORDS = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator']);
const REF_PREFIX = '#/components/schemas/';
const ROOT_ID = 'openapi';

/**
 * An OpenAPI 3.0 schema as JSON Schema (draft-07) for Ajv: `nullable: true` becomes "or null"
 * (also for enums and $refs, which Ajv's own nullable support does not cover), component refs
 * point into the document's schemas, and annotation keywords JSON Schema lacks are dropped.
 */
export const toJsonSchema = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(toJsonSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const converted: Record<string, unknown> = {};
  let nullable = false;
  for (const [key, value] of Object.entries(schema as Record<string, unknown>)) {
    if (METADATA_KEYWORDS.has(key) || key.startsWith('x-')) continue;
    if (key === 'nullable') nullable = value === true;
    else if (key === '$ref' && typeof value === 'string' && value.startsWith(REF_PREFIX))
      converted.$ref = `${ROOT_ID}#/definitions/${value.slice(REF_PREFIX.length)}`;
    else if (key === 'properties' && value !== null && typeof value === 'object')
      converted.properties = Object.fromEntries(
        Object.entries(value).map(([name, member]) => [name, toJsonSchema(member)]),
      );
    else converted[key] = toJsonSchema(value);
  }
  return nullable ? { anyOf: [converted, { type: 'null' }] } : converted;
};

const mediaTypeOf = (contentType: string | null): string | null =>
  contentType === null ? null : (contentType.split(';')[0] ?? '').trim().toLowerCase();

const isJson = (mediaType: string): boolean =>
  mediaType === 'application/json' || mediaType.endsWith('+json');

interface ResponseDoc {
  content?: Record<string, { schema?: unknown }>;
}
interface OperationDoc {
  responses?: Record<string, ResponseDoc>;
}

/** Checks answers against an OpenAPI document: status, media type and body. */
export class OpenApiChecker {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly problem: ValidateFunction;

  constructor(private readonly document: OpenAPIObject) {
    this.ajv = new Ajv({ allErrors: true, strictTypes: false, strictTuples: false });
    addFormats(this.ajv);
    this.ajv.addSchema(
      {
        $id: ROOT_ID,
        definitions: Object.fromEntries(
          Object.entries(document.components?.schemas ?? {}).map(([name, schema]) => [
            name,
            toJsonSchema(schema),
          ]),
        ),
      },
      ROOT_ID,
    );
    this.problem = this.ajv.compile({ $ref: `${ROOT_ID}#/definitions/${PROBLEM_SCHEMA_NAME}` });
  }

  /** What is wrong with the answer, or null when the document describes it. */
  check(response: RecordedResponse): string | null {
    const method = response.method.toLowerCase();
    const what = `${response.method} ${response.route ?? response.url} → ${response.status}`;
    const path = response.route?.replace(/:(\w+)/g, '{$1}');
    if (path === DOCS_PATH || path?.startsWith(`${DOCS_PATH}/`)) return null;
    const item = path === undefined ? undefined : this.document.paths[path];
    const operation = (item?.[method as 'get'] ?? (method === 'head' ? item?.get : undefined)) as
      OperationDoc | undefined;
    if (!operation) return this.checkUndocumented(response, what);

    const responses = operation.responses ?? {};
    const documented =
      responses[String(response.status)] ??
      responses[`${String(response.status)[0]}XX`] ??
      responses.default;
    if (!documented) return `${what}: the status is not documented for the operation`;
    const mediaType = mediaTypeOf(response.contentType);
    const content = documented.content ?? {};
    if (Object.keys(content).length === 0)
      return response.body
        ? `${what}: a ${mediaType ?? 'body'} answer, documented without content`
        : null;
    if (method === 'head') return null;
    if (mediaType === null || !(mediaType in content))
      return `${what}: media type ${mediaType ?? '(none)'} is not documented (${Object.keys(content).join(', ')})`;
    const schema = content[mediaType]?.schema;
    if (response.body === null || schema === undefined) return null;
    return this.checkBody(
      response.body,
      mediaType,
      `${method} ${path} ${response.status} ${mediaType}`,
      schema,
      what,
    );
  }

  /** A request for no documented route: only a problem may answer it. */
  private checkUndocumented(response: RecordedResponse, what: string): string | null {
    const mediaType = mediaTypeOf(response.contentType);
    if (response.status < 400 || mediaType !== 'application/problem+json')
      return `${what}: an answer of ${mediaType ?? 'no media type'} for a route the document does not have`;
    if (response.body === null) return null;
    return this.validate(this.problem, response.body, what);
  }

  private checkBody(
    body: string,
    mediaType: string,
    key: string,
    schema: unknown,
    what: string,
  ): string | null {
    if (!isJson(mediaType)) return null;
    let validator = this.validators.get(key);
    if (!validator) {
      validator = this.ajv.compile(toJsonSchema(schema) as object);
      this.validators.set(key, validator);
    }
    return this.validate(validator, body, what);
  }

  private validate(validator: ValidateFunction, body: string, what: string): string | null {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      return `${what}: the body is not JSON: ${body.slice(0, 200)}`;
    }
    if (validator(value)) return null;
    const errors = (validator.errors ?? [])
      .slice(0, 8)
      .map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`)
      .join('; ');
    return `${what}: the body does not match the documented schema (${errors}): ${body.slice(0, 300)}`;
  }
}

/** Every answer the e2e suite's apps gave, checked; and what was wrong with them. */
const tally = { checked: 0, withBody: 0 };
let violations: string[] = [];

export const openApiTally = (): { checked: number; withBody: number } => ({ ...tally });

/** The violations found since the last call. */
export const takeOpenApiViolations = (): string[] => {
  const taken = violations;
  violations = [];
  return taken;
};

const captured = new WeakMap<FastifyRequest, string | null>();

const capture = (payload: unknown): string | null => {
  if (payload === null || payload === undefined) return '';
  if (typeof payload === 'string')
    return Buffer.byteLength(payload) > BODY_CAP_BYTES ? null : payload;
  if (Buffer.isBuffer(payload))
    return payload.length > BODY_CAP_BYTES ? null : payload.toString('utf8');
  if (payload instanceof Readable) return null;
  return null;
};

const headerText = (value: unknown): string | null =>
  typeof value === 'string' ? value : Array.isArray(value) ? String(value[0]) : null;

/**
 * Checks every answer `app` sends against the OpenAPI document it serves; violations are
 * collected for takeOpenApiViolations (test/support/openapi-setup.ts fails the test with them).
 * Call before the app listens. Streams (SSE) are checked for status and media type.
 */
export const checkResponsesAgainstDocument = (app: NestFastifyApplication): void => {
  const document = hubDocumentOf(app);
  if (!document) throw new Error('The app has no OpenAPI document: build it with createHubApp');
  const checker = new OpenApiChecker(document);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onSend', async (request: FastifyRequest, _reply: FastifyReply, payload) => {
    captured.set(request, capture(payload));
    return payload;
  });
  fastify.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = captured.has(request) ? (captured.get(request) ?? null) : null;
    const recorded: RecordedResponse = {
      method: request.method,
      route: request.is404 ? null : (request.routeOptions.url ?? null),
      url: request.url,
      status: reply.raw.statusCode,
      contentType: headerText(reply.raw.getHeader('content-type')),
      body,
    };
    let violation: string | null;
    try {
      violation = checker.check(recorded);
    } catch (error) {
      violation = `${recorded.method} ${recorded.url}: the check failed: ${String(error)}`;
    }
    tally.checked++;
    if (body) tally.withBody++;
    if (violation) violations.push(violation);
  });
};

/** createHubApp, with every answer checked against its OpenAPI document. */
export const createCheckedHubApp = async (
  config: HubConfig,
  logger: Logger,
  extraModules: Type[] = [],
): Promise<NestFastifyApplication> => {
  const app = await createHubApp(config, logger, extraModules);
  checkResponsesAgainstDocument(app);
  return app;
};
