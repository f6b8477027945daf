/**
 * What an agent fetches: who it is and what to probe. `version` doubles as the ETag.
 */
import * as v from 'valibot';
import { CensusSliceAssignmentSchema } from './census.js';
import { AGENT_PPS, IdSchema, intRange, Uint16Schema } from './common.js';
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
  /**
   * This source's slice of each split census it probes (`census.split`), by destination id, or that it is left out
   * of one for now. A split census with no entry (a control plane before slices) is probed whole.
   */
  censusSlices: v.optional(v.record(IdSchema, CensusSliceAssignmentSchema)),
});
export type AgentConfig = v.InferOutput<typeof AgentConfigSchema>;

/** Longest long-poll a client may ask for, in seconds (`?wait=`). */
export const MAX_WAIT_SECONDS = 60;

/**
 * Query of `GET /v1/agent/config`: how long to hold the poll, and the agent's pps budget (`pinger agent --pps`),
 * which the control plane keeps on the source to size its slices of split censuses.
 */
export const AgentConfigQuerySchema = v.strictObject({
  wait: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'must be a whole number of seconds'),
      v.transform(Number),
      v.maxValue(MAX_WAIT_SECONDS, `must be at most ${MAX_WAIT_SECONDS}`),
    ),
  ),
  pps: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'must be a whole number of probes a second'),
      v.transform(Number),
      v.minValue(AGENT_PPS.min, `must be at least ${AGENT_PPS.min}`),
      v.maxValue(AGENT_PPS.max, `must be at most ${AGENT_PPS.max}`),
    ),
  ),
});
