/**
 * The agent daemon as `pinger agent` runs it (startAgent, pino JSON logs on stderr, SIGTERM = graceful stop), but
 * with outbox bounds and retry timings a test can reach in seconds: the full-spool test needs the in-memory bound
 * (100,000 results in production, i.e. 100 s of this test's probing) to overflow while it watches; the outage test
 * a retry soon after the control plane is back (the 30 s backoff cap would add up to 30 s of waiting); the flaky
 * test a request deadline shorter than the production 15 s.
 *
 *   ip netns exec NS node --import tsx test/e2e/agent-failures/agent-runner.ts '<json AgentOptions subset>'
 */
import pino from 'pino';
import { type AgentOptions, startAgent, stopOnSignals } from '../../../agent/main.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Omit<AgentOptions, 'logger'>;
const logger = pino({ name: 'pinger-agent', level: 'info' }, pino.destination({ fd: 2, sync: true }));
const handle = await startAgent({ ...options, logger });
stopOnSignals(handle, logger);
try {
  await handle.done;
} catch (err) {
  logger.error({ err }, (err as Error).message);
  process.exitCode = 1;
}
