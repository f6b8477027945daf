/**
 * The one error body every endpoint uses: a machine code, a sentence, and for bad input the fields at fault.
 */
import * as v from 'valibot';

export const ERROR_CODES = [
  'bad_request',
  'invalid_json',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'internal',
  'unavailable',
  'not_implemented',
] as const;

export const ErrorBodySchema = v.object({
  error: v.object({
    code: v.picklist(ERROR_CODES),
    message: v.string(),
    issues: v.optional(v.array(v.object({ path: v.string(), message: v.string() }))),
  }),
});
export type ErrorBody = v.InferOutput<typeof ErrorBodySchema>;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Flattens valibot issues to `{path, message}` with dotted paths (`results.3.rtt`). */
export function flattenIssues(issues: readonly v.BaseIssue<unknown>[]): { path: string; message: string }[] {
  return issues.map((issue) => ({
    path: issue.path?.map((p) => String(p.key)).join('.') ?? '',
    message: issue.message,
  }));
}
