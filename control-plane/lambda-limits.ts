/**
 * Long-poll limits of the Lambda host, apart from `lambda.ts` so tests, benchmarks and the infra check can read
 * them without booting the handler.
 *
 * API Gateway cuts a request at 30 s: a long-poll holds at most 20 s, leaving room for the config read and a
 * cold start. While waiting, the version is re-read every 1.2 s: a change reaches a waiting agent within about a
 * second, and an idle 20 s poll costs ~20 DynamoDB requests in all (see BENCHMARKS.md).
 */
export const LAMBDA_MAX_WAIT_SECONDS = 20;
export const LAMBDA_POLL_INTERVAL_MS = 1200;
