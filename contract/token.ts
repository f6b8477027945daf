/** Read-only API tokens as `/v1/tokens` shows them. The secret is in the answer to creating one, and only there. */
import * as v from 'valibot';
import { IdSchema, TimestampSchema } from './common.js';

/** Body of `POST /v1/tokens`. */
export const TokenCreateSchema = v.strictObject({
  name: v.pipe(
    v.string('must be a string'),
    v.trim(),
    v.minLength(1, 'must not be empty'),
    v.maxLength(64, 'must be at most 64 characters'),
  ),
});
export type TokenCreate = v.InferOutput<typeof TokenCreateSchema>;

/** A token as listed: `id` is the start of its SHA-256, never the token. */
export const TokenSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[0-9a-f]{16}$/)),
  name: v.string(),
  kind: v.picklist(['admin', 'read', 'agent']),
  sourceId: v.nullable(IdSchema),
  createdAt: TimestampSchema,
});
export type Token = v.InferOutput<typeof TokenSchema>;

/** Answer to `POST /v1/tokens`. */
export const TokenWithSecretSchema = v.object({ ...TokenSchema.entries, token: v.string() });
export type TokenWithSecret = v.InferOutput<typeof TokenWithSecretSchema>;

/** Answer to `GET /v1/tokens/self`: what the presented token may do. */
export const TokenSelfSchema = v.object({ kind: v.picklist(['admin', 'read']) });
export type TokenSelf = v.InferOutput<typeof TokenSelfSchema>;
