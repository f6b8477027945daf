/**
 * Validation at the edge: a request part goes through its contract schema once; what comes out is typed and
 * within range, and what does not becomes a 400 naming each field and rule.
 */
import * as v from 'valibot';
import { badRequest, type Issue } from './http-error.js';

/** A batch of 5,000 bad results must not produce a megabyte of issues. */
const MAX_ISSUES = 50;

/** Valibot's own wording for structural issues, said the way the rest of the API says things. */
function message(issue: v.BaseIssue<unknown>): string {
  const structural =
    issue.type === 'object' || issue.type === 'strict_object' || issue.type === 'loose_object';
  if (structural && issue.expected === 'never') return 'is not a known field';
  if (structural && issue.received === 'undefined' && issue.path?.length) return 'is required';
  if (structural) return 'must be a JSON object';
  return issue.message;
}

/** `{path, message}` per issue; the path is dotted (`results.3.rtt`), `where` for the whole input. */
export function toIssues(issues: readonly v.BaseIssue<unknown>[], where: string): Issue[] {
  return issues.map((issue) => ({
    path: issue.path?.map((p) => String(p.key)).join('.') || where,
    message: message(issue),
  }));
}

/**
 * Parses `input` with `schema` or throws a 400 listing the issues (at most {@link MAX_ISSUES}).
 *
 * @param where what was parsed (`body`, `query`): the path of an issue about the whole input
 */
export function parseWith<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  where: string,
): v.InferOutput<S> {
  const parsed = v.safeParse(schema, input);
  if (parsed.success) return parsed.output;
  const issues = toIssues(parsed.issues, where);
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  throw badRequest(`invalid ${where}: ${first.path} ${first.message}${more}`, issues.slice(0, MAX_ISSUES));
}
