/**
 * Sources: hosts that run the agent. `sourceid` goes into every probe packet, so it is unique and 16 bits wide.
 */
import * as v from 'valibot';
import {
  AddressSchema,
  AGENT_PPS,
  IdSchema,
  intRange,
  LabelsSchema,
  TimestampSchema,
  Uint16Schema,
} from './common.js';

const fields = {
  name: v.pipe(
    v.string('must be a string'),
    v.trim(),
    v.minLength(1, 'must not be empty'),
    v.maxLength(64, 'must be at most 64 characters'),
  ),
  /** Site number (the seed's `location`, stored in results as `rsite`). */
  location: intRange(0, 65_535),
  /** Host number within the site (stored in results as `rhost`). */
  host: intRange(0, 65_535),
  sourceid: Uint16Schema,
  address: v.nullable(AddressSchema),
  labels: LabelsSchema,
};

/** Body of `POST /v1/sources`. `sourceid` is assigned if absent. */
export const SourceCreateSchema = v.strictObject({
  name: fields.name,
  location: v.optional(fields.location, 0),
  host: v.optional(fields.host, 0),
  sourceid: v.optional(fields.sourceid),
  address: v.optional(fields.address, null),
  labels: v.optional(fields.labels, {}),
});
export type SourceCreate = v.InferOutput<typeof SourceCreateSchema>;

/** Body of `PATCH /v1/sources/:id`. */
export const SourcePatchSchema = v.strictObject({
  name: v.optional(fields.name),
  location: v.optional(fields.location),
  host: v.optional(fields.host),
  sourceid: v.optional(fields.sourceid),
  address: v.optional(fields.address),
  labels: v.optional(fields.labels),
});
export type SourcePatch = v.InferOutput<typeof SourcePatchSchema>;

/** A source as the API returns it. */
export const SourceSchema = v.object({
  id: IdSchema,
  name: fields.name,
  location: fields.location,
  host: fields.host,
  sourceid: fields.sourceid,
  address: fields.address,
  labels: fields.labels,
  lastSeen: v.nullable(TimestampSchema),
  /** The pps budget its agent last reported (absent until it does): sizes its slices of split censuses. */
  pps: v.optional(intRange(AGENT_PPS.min, AGENT_PPS.max)),
  createdAt: TimestampSchema,
});
export type Source = v.InferOutput<typeof SourceSchema>;

/** Answer to creating a source or rotating its token: the agent token is shown this once. */
export const SourceWithTokenSchema = v.object({ ...SourceSchema.entries, token: v.string() });
export type SourceWithToken = v.InferOutput<typeof SourceWithTokenSchema>;
