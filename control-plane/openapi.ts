/**
 * `GET /openapi.json`: the API described from the same valibot schemas that validate it, so the document
 * cannot drift from the server. Built once, on first request.
 */
import { type JsonSchema, toJsonSchemaDefs } from '@valibot/to-json-schema';
import {
  AgentConfigSchema,
  BatchReceiptSchema,
  CensusEventListSchema,
  CensusHostHistoryQuerySchema,
  CensusHostHistorySchema,
  CensusHostListSchema,
  CensusHostQuerySchema,
  CensusListQuerySchema,
  CensusPassListSchema,
  CensusPassReceiptSchema,
  CensusPassReportSchema,
  DestinationCreateSchema,
  DestinationPatchSchema,
  DestinationQuerySchema,
  DestinationSchema,
  ErrorBodySchema,
  ResultBatchSchema,
  ResultPageSchema,
  ResultQuerySchema,
  SourceCreateSchema,
  SourcePatchSchema,
  SourceSchema,
  SourceWithTokenSchema,
  StatsQuerySchema,
  StatsResponseSchema,
  SummaryQuerySchema,
  SummaryResponseSchema,
  TokenCreateSchema,
  TokenSchema,
  TokenSelfSchema,
  TokenWithSecretSchema,
} from '../contract/index.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const ok = (description: string, schema?: object) =>
  schema ? { description, content: json(schema) } : { description };

type ErrorCase = [status: string, description: string];

/** The error answers an operation can give, each with the one error body; see `op`. */
function errorsOf(guard: Guard | null, extra: OperationExtra): Record<string, object> {
  const cases: ErrorCase[] = [];
  if (extra.body || extra.query) cases.push(['400', 'bad input: the issues name each field and rule']);
  if (guard) cases.push(['401', 'no valid bearer token'], ['403', 'a token of the wrong kind']);
  if (extra.path) cases.push(['404', 'no such resource']);
  if (extra.unknown) cases.push(['404', extra.unknown]);
  if (extra.conflict) cases.push(['409', extra.conflict]);
  if (extra.body) cases.push(['413', 'body too large']);
  cases.push(['500', 'internal error']);
  if (extra.stats) cases.push(['501', 'the store has no statistics yet (the message names the backend)']);
  // A guarded operation reads the store for the token at least.
  if (guard) cases.push(['503', 'the store is unavailable, retry later']);
  return Object.fromEntries(
    cases.map(([status, description]) => [status, ok(description, ref('ErrorBody'))]),
  );
}

interface OperationExtra {
  body?: object;
  query?: Record<string, JsonSchema>;
  path?: string[];
  /** The uniqueness rule a 409 means, for operations that can break one. */
  conflict?: string;
  /** What a 404 means for an operation that refuses unknown ids in its query (the issue names the field). */
  unknown?: string;
  /** Served from the store's rollups: 501 on a backend without them. */
  stats?: boolean;
}

type Guard = 'admin' | 'reader' | 'agent';

const UNKNOWN_PAIR = 'the destination or source named in the query does not exist';
const SOURCEID_TAKEN = 'the sourceid is taken by another source (or, with none given, all 65,536 are)';
const security = { admin: [{ admin: [] }], reader: [{ admin: [] }, { read: [] }], agent: [{ agent: [] }] };

function op(
  guard: Guard | null,
  summary: string,
  success: Record<string, object>,
  extra: OperationExtra = {},
) {
  const parameters = [
    ...(extra.path ?? []).map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(extra.query ?? {}).map(([name, schema]) => ({
      name,
      in: 'query',
      required: false,
      schema,
    })),
  ];
  return {
    summary,
    ...(guard ? { security: security[guard] } : { security: [] }),
    ...(parameters.length ? { parameters } : {}),
    ...(extra.body ? { requestBody: { required: true, content: json(extra.body) } } : {}),
    responses: { ...success, ...errorsOf(guard, extra) },
  };
}

/** The query parameters of a strict-object query schema, one JSON schema each. */
function queryParams(schema: JsonSchema): Record<string, JsonSchema> {
  return ((schema as { properties?: Record<string, JsonSchema> }).properties ?? {}) as Record<
    string,
    JsonSchema
  >;
}

let cached: object | undefined;

/** The OpenAPI 3.1 document of the API. */
export function openApiDocument(): object {
  if (cached) return cached;
  const schemas = toJsonSchemaDefs(
    {
      Source: SourceSchema,
      SourceCreate: SourceCreateSchema,
      SourcePatch: SourcePatchSchema,
      SourceWithToken: SourceWithTokenSchema,
      Destination: DestinationSchema,
      DestinationCreate: DestinationCreateSchema,
      DestinationPatch: DestinationPatchSchema,
      DestinationQuery: DestinationQuerySchema,
      AgentConfig: AgentConfigSchema,
      ResultBatch: ResultBatchSchema,
      BatchReceipt: BatchReceiptSchema,
      ResultQuery: ResultQuerySchema,
      ResultPage: ResultPageSchema,
      StatsQuery: StatsQuerySchema,
      StatsResponse: StatsResponseSchema,
      SummaryQuery: SummaryQuerySchema,
      SummaryResponse: SummaryResponseSchema,
      TokenCreate: TokenCreateSchema,
      Token: TokenSchema,
      TokenWithSecret: TokenWithSecretSchema,
      TokenSelf: TokenSelfSchema,
      ErrorBody: ErrorBodySchema,
      CensusPassReport: CensusPassReportSchema,
      CensusPassReceipt: CensusPassReceiptSchema,
      CensusHostList: CensusHostListSchema,
      CensusHostQuery: CensusHostQuerySchema,
      CensusHostHistory: CensusHostHistorySchema,
      CensusHostHistoryQuery: CensusHostHistoryQuerySchema,
      CensusPassList: CensusPassListSchema,
      CensusEventList: CensusEventListSchema,
      CensusListQuery: CensusListQuerySchema,
    },
    {
      target: 'draft-2020-12',
      // Checks written as code (cross-field rules) have no JSON Schema form; the server still enforces them.
      errorMode: 'ignore',
      typeMode: 'input',
      overrideRef: (context) => `#/components/schemas/${context.referenceId}`,
    },
  );
  const list = (key: string, item: string) => ({
    type: 'object',
    properties: { [key]: { type: 'array', items: ref(item) } },
    required: [key],
  });
  const id = { path: ['id'] };
  cached = {
    openapi: '3.1.0',
    info: { title: 'Pinger control plane', version: '1' },
    components: {
      schemas,
      securitySchemes: {
        admin: { type: 'http', scheme: 'bearer', description: 'pgr_admin_… token' },
        read: { type: 'http', scheme: 'bearer', description: 'pgr_read_… token (read-only)' },
        agent: { type: 'http', scheme: 'bearer', description: "pgr_agent_… token (one source's agent)" },
      },
    },
    paths: {
      '/healthz': { get: op(null, 'Liveness', { 200: ok('alive') }) },
      '/v1/sources': {
        post: op(
          'admin',
          'Create a source; its agent token is in this answer only',
          {
            201: ok('created', ref('SourceWithToken')),
          },
          { body: ref('SourceCreate'), conflict: SOURCEID_TAKEN },
        ),
        get: op('reader', 'List sources', { 200: ok('sources', list('sources', 'Source')) }),
      },
      '/v1/sources/{id}': {
        get: op('reader', 'Get a source', { 200: ok('the source', ref('Source')) }, id),
        patch: op(
          'admin',
          'Change a source',
          { 200: ok('the source', ref('Source')) },
          { ...id, body: ref('SourcePatch'), conflict: SOURCEID_TAKEN },
        ),
        delete: op('admin', 'Delete a source and its tokens (results stay)', { 204: ok('deleted') }, id),
      },
      '/v1/sources/{id}/token': {
        post: op('admin', 'Rotate the agent token', { 200: ok('new token', ref('SourceWithToken')) }, id),
      },
      '/v1/destinations': {
        post: op(
          'admin',
          'Create a destination',
          { 201: ok('created', ref('Destination')) },
          {
            body: ref('DestinationCreate'),
          },
        ),
        get: op(
          'reader',
          'List destinations',
          { 200: ok('destinations', list('destinations', 'Destination')) },
          {
            query: queryParams(schemas.DestinationQuery),
          },
        ),
      },
      '/v1/destinations/{id}': {
        get: op('reader', 'Get a destination', { 200: ok('the destination', ref('Destination')) }, id),
        patch: op(
          'admin',
          'Change a destination (the result is checked whole)',
          {
            200: ok('the destination', ref('Destination')),
          },
          { ...id, body: ref('DestinationPatch') },
        ),
        delete: op('admin', 'Delete a destination (results stay)', { 204: ok('deleted') }, id),
      },
      '/v1/agent/config': {
        get: op(
          'agent',
          "This agent's config; with If-None-Match and ?wait=S a long-poll",
          {
            200: ok('the config; ETag = version', ref('AgentConfig')),
            304: ok('unchanged within the wait'),
          },
          {
            query: {
              wait: { type: 'string', pattern: '^\\d+$', description: 'seconds, at most 60' },
              pps: {
                type: 'string',
                pattern: '^\\d+$',
                description: "the agent's pps budget: sizes its slices of split censuses (censusSlices)",
              },
            },
          },
        ),
      },
      '/v1/agent/results': {
        post: op(
          'agent',
          'Post a batch of results (≤ 5000, ≤ 2 MB after gunzip); stored whole or not at all. 400 for an ' +
            'unknown destination or a bad field, 403 for a destination this source does not probe',
          {
            200: ok('receipt', ref('BatchReceipt')),
          },
          { body: ref('ResultBatch') },
        ),
      },
      '/v1/agent/census/passes': {
        post: op(
          'agent',
          'Report a census pass (≤ 4 MiB after gunzip); stored once per (source, destination, start), its ' +
            'answers applied to the hosts (a split pass: the hosts of its slice). 400 for a bad field or a destination that is not a census, 403 for ' +
            'one this source does not probe',
          { 200: ok('receipt', ref('CensusPassReceipt')) },
          { body: ref('CensusPassReport') },
        ),
      },
      '/v1/census/{destination}/hosts': {
        get: op(
          'reader',
          "A census's hosts by address; state=new: up and first seen in the latest pass. 404 names " +
            '`destination` when it is unknown or not a census',
          { 200: ok('hosts', ref('CensusHostList')) },
          { path: ['destination'], query: queryParams(schemas.CensusHostQuery) },
        ),
      },
      '/v1/census/{destination}/hosts/{address}': {
        get: op(
          'reader',
          'One host of a census: its record and the passes that probed it in [from, to] (oldest first, the newest ' +
            '`limit`), answered or missed with the RTT, and loss and RTT min/median/p90/max over them. Kept as long ' +
            'as raw results (`kept`). 400 names `address` when it is not one the census probes, or a bad query ' +
            'field; 404 names `destination` (unknown, not a census) or `address` (never answered)',
          { 200: ok('host history', ref('CensusHostHistory')) },
          { path: ['destination', 'address'], query: queryParams(schemas.CensusHostHistoryQuery) },
        ),
      },
      '/v1/census/{destination}/passes': {
        get: op(
          'reader',
          "A census's passes, newest first, with start, end and duration; a split pass's slices merged by slot",
          { 200: ok('passes', ref('CensusPassList')) },
          { path: ['destination'], query: queryParams(schemas.CensusListQuery) },
        ),
      },
      '/v1/census/{destination}/events': {
        get: op(
          'reader',
          "A census's events (host appeared, host gone), newest first",
          { 200: ok('events', ref('CensusEventList')) },
          { path: ['destination'], query: queryParams(schemas.CensusListQuery) },
        ),
      },
      '/v1/results': {
        get: op(
          'reader',
          'Results, newest first, paged by cursor; format=ndjson streams all pages',
          {
            200: ok('a page', ref('ResultPage')),
          },
          { query: queryParams(schemas.ResultQuery) },
        ),
      },
      '/v1/stats': {
        get: op(
          'reader',
          'Loss, RTT figures and jitter per (destination, source) at a step, from the rollups; the step is ' +
            'chosen (≤ 1,000 points) when not given. label=k:v may repeat.',
          { 200: ok('series', ref('StatsResponse')) },
          { query: queryParams(schemas.StatsQuery), unknown: UNKNOWN_PAIR, stats: true },
        ),
      },
      '/v1/stats/summary': {
        get: op(
          'reader',
          'One row per (destination, source) over a window, worst first by loss or p50',
          { 200: ok('rows', ref('SummaryResponse')) },
          { query: queryParams(schemas.SummaryQuery), unknown: UNKNOWN_PAIR, stats: true },
        ),
      },
      '/metrics': {
        get: op(
          'reader',
          'Prometheus text (OpenMetrics with Accept: application/openmetrics-text): per (destination, source) ' +
            'pinger_probes_sent_total and pinger_probes_received_total (running totals, monotonic across ' +
            'restarts), and pinger_rtt_seconds quantiles and pinger_loss_ratio of the last complete minute',
          { 200: { description: 'metrics', content: { 'text/plain': { schema: { type: 'string' } } } } },
          { stats: true },
        ),
      },
      '/v1/tokens': {
        post: op(
          'admin',
          'Create a read-only token; the token is in this answer only',
          {
            201: ok('created', ref('TokenWithSecret')),
          },
          { body: ref('TokenCreate') },
        ),
        get: op('admin', 'List read-only and agent tokens', { 200: ok('tokens', list('tokens', 'Token')) }),
      },
      '/v1/tokens/self': {
        get: op('reader', 'What the presented token may do (admin or read)', {
          200: ok('its kind', ref('TokenSelf')),
        }),
      },
      '/v1/tokens/{id}': { delete: op('admin', 'Delete a read-only token', { 204: ok('deleted') }, id) },
      '/openapi.json': { get: op(null, 'This document', { 200: ok('OpenAPI 3.1') }) },
    },
  };
  return cached;
}
