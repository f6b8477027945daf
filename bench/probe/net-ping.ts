/**
 * Bench worker: the same job as ours.ts with net-ping (raw-socket based, the closest Node peer): `count` pings,
 * `window` in flight, each answer sending the next. Prints one JSON line like ours.ts.
 */
import { createRequire } from 'node:module';

interface Job {
  address: string;
  count: number;
  window: number;
  timeout?: number;
}

interface Session {
  pingHost(target: string, done: (error: Error | null) => void): void;
  close(): void;
}

const require = createRequire(import.meta.url);
const ping = require('net-ping') as { createSession(o: object): Session };
const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const HARD_LIMIT_MS = 120_000;
const session = ping.createSession({ retries: 0, timeout: job.timeout ?? 2000, packetSize: 16 });
let sent = 0;
let done = 0;
let received = 0;

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await new Promise<void>((resolve) => {
  const deadline = setTimeout(resolve, HARD_LIMIT_MS);
  const launch = () => {
    sent++;
    session.pingHost(job.address, (error) => {
      done++;
      if (!error) received++;
      if (sent < job.count) launch();
      if (done === job.count) {
        clearTimeout(deadline);
        resolve();
      }
    });
  };
  for (let i = 0; i < Math.min(job.window, job.count); i++) launch();
});
const elapsedNs = process.hrtime.bigint() - t0;
const cpu = process.cpuUsage(cpu0);
session.close();
process.stdout.write(
  `${JSON.stringify({ tool: 'net-ping', sent, received, seconds: Number(elapsedNs) / 1e9, cpuMs: (cpu.user + cpu.system) / 1000 })}\n`,
);
process.exit(0);
