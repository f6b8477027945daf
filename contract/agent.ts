/**
 * What an agent fetches: who it is and what to probe. `version` doubles as the ETag.
 */
import * as v from 'valibot';
import { IdSchema, intRange, Uint16Schema } from './common.js';
import { DestinationSchema } from './destination.js';

export const AgentSourceSchema = v.object({
  id: IdSchema,
  name: v.string(),
  sourceid: Uint16Schema,
  location: intRange(0, 65_535),
  host: intRange(0, 65_535),
});

/** Body of `GET /v1/agent/config`: the active destinations that concern this source. */
export const AgentConfigSchema = v.object({
  version: v.string(),
  source: AgentSourceSchema,
  destinations: v.array(DestinationSchema),
});
export type AgentConfig = v.InferOutput<typeof AgentConfigSchema>;

/** Longest long-poll a client may ask for, in seconds (`?wait=`). */
export const MAX_WAIT_SECONDS = 60;
